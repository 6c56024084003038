package transport

import (
	"testing"

	"github.com/statecast/statecast/internal/browsertest"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. The
// browser the tests share is stopped first.
func TestMain(m *testing.M) { goleak.VerifyTestMain(stopBrowserAfter{m}) }

// stopBrowserAfter runs the tests, then stops the shared browser.
type stopBrowserAfter struct{ *testing.M }

func (s stopBrowserAfter) Run() int {
	code := s.M.Run()
	browsertest.StopShared()
	return code
}
