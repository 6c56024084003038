package replay_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// server and NATS connection a test starts must stop completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
