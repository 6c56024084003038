package inspect_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// handler a test opens must be closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
