package middleware_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

func TestRecoverTurnsPanicIntoInternalError(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	mw := middleware.Recover(zerolog.New(&logs))
	panicking := mw(func(context.Context, *actions.Action) error { panic("kaboom") })
	err := panicking(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r"})
	if errCode(err) != actions.CodeInternal {
		t.Fatalf("err = %v, want code %s", err, actions.CodeInternal)
	}
	if !strings.Contains(logs.String(), "kaboom") || !strings.Contains(logs.String(), "message/write") {
		t.Fatalf("log lacks the panic or the action: %s", logs.String())
	}
	if _, err := through(mw, &actions.Action{Type: "ok"}); err != nil {
		t.Fatalf("a healthy action failed after a panic: %v", err)
	}
}
