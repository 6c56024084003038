package middleware_test

import (
	"context"
	"errors"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// terminal records the actions that reach the end of a chain.
type terminal struct{ got []*actions.Action }

func (t *terminal) dispatch(_ context.Context, a *actions.Action) error {
	t.got = append(t.got, a)
	return nil
}

// through runs a through mw into a recording terminal.
func through(mw store.Middleware, a *actions.Action) (*terminal, error) {
	term := &terminal{}
	err := mw(term.dispatch)(context.Background(), a)
	return term, err
}

func errCode(err error) string {
	var e *actions.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
