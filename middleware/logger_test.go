package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

func TestLoggerWritesOneLinePerAction(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	mw := middleware.Logger(zerolog.New(&buf).Level(zerolog.DebugLevel))
	ok := mw(func(_ context.Context, a *actions.Action) error { a.Seq = 7; return nil })
	ok(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r", User: "u",
		Payload: actions.WriteMessage{Message: "secret text"}})
	bad := mw(func(context.Context, *actions.Action) error {
		return actions.Errorf(actions.CodeMessageTooLong, "too long")
	})
	bad(context.Background(), &actions.Action{Type: actions.TypeConnect, Room: "r"})

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), buf.String())
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["level"] != "debug" || first["seq"] != 7.0 || first["type"] != "message/write" || first["room"] != "r" {
		t.Errorf("applied line = %v", first)
	}
	if second["level"] != "warn" || second["code"] != actions.CodeMessageTooLong {
		t.Errorf("rejected line = %v", second)
	}
	if strings.Contains(buf.String(), "secret text") {
		t.Error("the logger wrote a message text")
	}
}

func TestLoggerQuietAtInfo(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	through(middleware.Logger(zerolog.New(&buf).Level(zerolog.InfoLevel)), &actions.Action{Type: "x"})
	if buf.Len() != 0 {
		t.Fatalf("info logger wrote %q for an applied action", buf.String())
	}
}
