package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes every JSON line written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func applyWithSeq(seq uint64) func(context.Context, *actions.Action) error {
	return func(_ context.Context, a *actions.Action) error { a.Seq = seq; return nil }
}

func TestLoggerWritesOneLinePerAction(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	mw := middleware.Logger(zerolog.New(&buf).Level(zerolog.DebugLevel), middleware.LoggerOptions{})
	ok := mw(applyWithSeq(7))
	ok(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, ID: "a1", Room: "r", Session: "s", User: "u",
		Payload: actions.WriteMessage{Message: "secret text", ClientID: "c1"}})
	bad := mw(func(context.Context, *actions.Action) error {
		return &actions.Error{Code: actions.CodeMessageTooLong, Message: "too long", Ref: actions.EventWriteMessage, Close: actions.ClosePolicy}
	})
	bad(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r",
		Payload: actions.WriteMessage{Message: "another secret"}})

	lines := buf.lines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), buf.String())
	}
	first, second := lines[0], lines[1]
	for k, want := range map[string]any{
		"level": "debug", "seq": 7.0, "type": "message/write", "room": "r", "session": "s", "user": "u",
		"action": "a1", "msg_len": float64(len("secret text")), "client_id": "c1",
	} {
		if first[k] != want {
			t.Errorf("applied line %s = %v, want %v (line %v)", k, first[k], want, first)
		}
	}
	if _, ok := first["took"]; !ok {
		t.Errorf("applied line has no duration: %v", first)
	}
	for k, want := range map[string]any{
		"level": "warn", "code": actions.CodeMessageTooLong, "ref": actions.EventWriteMessage, "close": float64(actions.ClosePolicy),
	} {
		if second[k] != want {
			t.Errorf("rejected line %s = %v, want %v (line %v)", k, second[k], want, second)
		}
	}
	if s := buf.String(); strings.Contains(s, "secret") {
		t.Errorf("the logger wrote a message text: %s", s)
	}
}

func TestLoggerSummarizesPayloads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		payload any
		want    map[string]any
	}{
		{"connect", actions.Connect{Username: "ann"}, map[string]any{"username": "ann"}},
		{"post", actions.PostMessage{Username: "bot", Message: "hidden"}, map[string]any{"username": "bot", "msg_len": 6.0}},
		{"expire", actions.Expire{Since: 9}, map[string]any{"since": 9.0}},
		{"none", nil, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			through(middleware.Logger(zerolog.New(&buf), middleware.LoggerOptions{}), &actions.Action{Type: "x", Payload: tc.payload})
			line := buf.lines(t)[0]
			for k, want := range tc.want {
				if line[k] != want {
					t.Errorf("%s = %v, want %v (line %v)", k, line[k], want, line)
				}
			}
			if strings.Contains(buf.String(), "hidden") {
				t.Errorf("line leaks a message text: %s", buf.String())
			}
		})
	}
}

func TestLoggerFieldsHook(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	mw := middleware.Logger(zerolog.New(&buf), middleware.LoggerOptions{
		Fields: func(a *actions.Action, ev *zerolog.Event) { ev.Str("tenant", "t-"+a.Room) },
	})
	through(mw, &actions.Action{Type: "x", Room: "r"})
	mw(func(context.Context, *actions.Action) error { return errors.New("boom") })(context.Background(), &actions.Action{Type: "y", Room: "q"})
	lines := buf.lines(t)
	if len(lines) != 2 || lines[0]["tenant"] != "t-r" || lines[1]["tenant"] != "t-q" {
		t.Fatalf("lines = %v, want a tenant field on both", lines)
	}
	if lines[1]["code"] != actions.CodeInternal {
		t.Errorf("a plain error logged with code %v, want %s", lines[1]["code"], actions.CodeInternal)
	}
}

// TestLoggerSamplesOnlyAppliedActions sends many applied and rejected
// actions within one second: at most Sample applied ones are logged, and
// every rejection is.
func TestLoggerSamplesOnlyAppliedActions(t *testing.T) {
	t.Parallel()
	const sample, applied, rejected = 3, 50, 25
	var buf syncBuffer
	mw := middleware.Logger(zerolog.New(&buf), middleware.LoggerOptions{Sample: sample})
	ok := mw(applyWithSeq(1))
	bad := mw(func(context.Context, *actions.Action) error {
		return actions.Errorf(actions.CodeInvalidRoom, "no")
	})
	start := time.Now()
	for i := 0; i < applied; i++ {
		ok(context.Background(), &actions.Action{Type: "x"})
		if i%2 == 0 {
			bad(context.Background(), &actions.Action{Type: "y"})
		}
	}
	elapsed := time.Since(start)
	var debug, warn int
	for _, l := range buf.lines(t) {
		switch l["level"] {
		case "debug":
			debug++
		case "warn":
			warn++
		}
	}
	if warn != rejected {
		t.Errorf("%d rejections logged, want all %d", warn, rejected)
	}
	// Each started second lets another burst through.
	if max := sample * (int(elapsed/time.Second) + 1); debug < sample || debug > max {
		t.Errorf("%d applied actions logged in %v, want %d to %d", debug, elapsed, sample, max)
	}
}

func TestLoggerQuietAtInfo(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	called := false
	mw := middleware.Logger(zerolog.New(&buf).Level(zerolog.InfoLevel), middleware.LoggerOptions{
		Fields: func(*actions.Action, *zerolog.Event) { called = true },
	})
	through(mw, &actions.Action{Type: "x"})
	if s := buf.String(); s != "" || called {
		t.Fatalf("info logger wrote %q (hook called: %v) for an applied action", s, called)
	}
}

func TestLoggerRejectsNegativeSample(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("Logger accepted Sample -1")
		}
	}()
	middleware.Logger(zerolog.Nop(), middleware.LoggerOptions{Sample: -1})
}
