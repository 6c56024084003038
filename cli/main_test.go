package cli

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server a test starts must stop completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
