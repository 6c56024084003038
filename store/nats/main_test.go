package nats_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every Log
// and server must be closed, every Read and Follow ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
