package transport_test

// Helpers of the end-to-end tests: v1 frames read and checked through
// internal/chattest's client.

import (
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"golang.org/x/time/rate"
)

// noRateLimit turns both rate limits off, for tests that write faster than
// a person (the rate limits are not transport's, and tested in server).
var noRateLimit = middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf}

// nothingFor fails if any frame arrives within d, and leaves the socket
// usable (NoFrameWithin ends the socket: coder/websocket closes a
// connection whose Read is cancelled). It waits d, then sends a probe that
// the server answers with an error: whatever the server queued for this
// socket before it would arrive first. Each probe counts as one bad frame
// towards the abuse limit (10 within 10 s), so use it sparingly.
func nothingFor(t *testing.T, c *chattest.Client, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	c.Send(map[string]any{"event": "probe"})
	expectError(t, c, "unknown_event", "probe")
}

// expectError reads the next frame and fails unless it is an `error` with
// code, a non-empty message, and ref (when ref is "", the ref must be absent
// or empty: the event is not known).
func expectError(t *testing.T, c *chattest.Client, code, ref string) chattest.Event {
	t.Helper()
	e := c.Expect("error")
	if got := e.Str("code"); got != code {
		t.Fatalf("error code = %q, want %q: %v", got, code, e)
	}
	if m, ok := e["message"].(string); !ok || m == "" {
		t.Fatalf("error without a message: %v", e)
	}
	if ref == "" {
		if r, ok := e["ref"]; ok && r != "" {
			t.Fatalf("error ref = %v, want none: %v", r, e)
		}
	} else if got, ok := e["ref"].(string); !ok || got != ref {
		t.Fatalf("error ref = %v, want %q: %v", e["ref"], ref, e)
	}
	return e
}

// expectErrorCode reads the next frame, which must be an error with code.
func expectErrorCode(t *testing.T, c *chattest.Client, code string) chattest.Event {
	t.Helper()
	e := c.Expect("error")
	if e.Str("code") != code {
		t.Fatalf("error = %v, want code %s", e, code)
	}
	return e
}

// expectPresence reads the next frame and fails unless it is the presence
// event name (joined or disconnected) for id and username, with both
// `username` and `name`.
func expectPresence(t *testing.T, c *chattest.Client, name, id, username string) {
	t.Helper()
	e := c.Expect(name)
	if e.Str("id") != id || e.Str("username") != username || e.Str("name") != username {
		t.Fatalf("%s = %v, want id %q username/name %q", name, e, id, username)
	}
}

// expectWritten reads the next frame, fails unless it is a messageWritten,
// and returns its messages.
func expectWritten(t *testing.T, c *chattest.Client) []chatMsg {
	t.Helper()
	return messagesOf(t, c.Expect("messageWritten"))
}

// lastMessage returns the newest message of a messageWritten event.
func lastMessage(t *testing.T, e chattest.Event) (username, message string) {
	t.Helper()
	l := e.List("messagesList")
	if len(l) == 0 {
		t.Fatalf("messageWritten without messages: %v", e)
	}
	m, _ := l[len(l)-1].(map[string]any)
	username, _ = m["username"].(string)
	message, _ = m["message"].(string)
	return username, message
}

// expectMessage reads the next frame, which must be the messageWritten of
// message by username.
func expectMessage(t *testing.T, c *chattest.Client, username, message string) chattest.Event {
	t.Helper()
	e := c.Expect("messageWritten")
	if u, m := lastMessage(t, e); u != username || m != message {
		t.Fatalf("newest message is %s: %.40q, want %s: %.40q", u, m, username, message)
	}
	return e
}

// until reads frames until the named event, skipping the presence events
// (joined, disconnected) on the way; any other frame fails the test.
func until(t *testing.T, c *chattest.Client, name string) chattest.Event {
	t.Helper()
	for {
		e, err := c.NextWithin(chattest.Timeout)
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		switch ev := e.Name(); {
		case ev == name:
			return e
		case ev != "joined" && ev != "disconnected":
			t.Fatalf("got %v, want event %s", e, name)
		}
	}
}

// chatMsg is one entry of a v1 messagesList.
type chatMsg = chattest.Message

// messagesOf returns e's messagesList (see chattest.Event.Messages).
func messagesOf(t *testing.T, e chattest.Event) []chatMsg {
	t.Helper()
	return e.Messages(t)
}

// texts returns the message texts of msgs.
func texts(msgs []chatMsg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Message
	}
	return out
}

// wantTexts fails unless msgs hold exactly the texts want, in order.
func wantTexts(t *testing.T, msgs []chatMsg, want ...string) {
	t.Helper()
	if got := texts(msgs); strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Fatalf("messages = %q, want %q", got, want)
	}
}

// wantUsers fails unless e's connectedUserList holds exactly the users of
// want (id → username), each id once.
func wantUsers(t *testing.T, e chattest.Event, want map[string]string) {
	t.Helper()
	raw, ok := e["connectedUserList"].([]any)
	if !ok {
		t.Fatalf("connectedUserList missing or not an array: %v", e)
	}
	seen := map[string]bool{}
	for _, x := range raw {
		o, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("connectedUserList entry is not an object: %v", e)
		}
		id, ok1 := o["id"].(string)
		name, ok2 := o["username"].(string)
		if !ok1 || !ok2 {
			t.Fatalf("connectedUserList entry lacks a string id or username: %v", o)
		}
		if seen[id] {
			t.Fatalf("connectedUserList lists id %q twice: %v", id, raw)
		}
		seen[id] = true
		if w, ok := want[id]; !ok || w != name {
			t.Fatalf("connectedUserList has {%q, %q}, want exactly %v: %v", id, name, want, raw)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("connectedUserList = %v, want exactly %v", raw, want)
	}
}

// wantConnected fails unless e is a `connected` for id and username whose
// lists are exactly users and msgs.
func wantConnected(t *testing.T, e chattest.Event, id, username string, users map[string]string, msgs ...string) {
	t.Helper()
	if e.Name() != "connected" || e.Str("id") != id || e.Str("username") != username || e.Str("name") != username {
		t.Fatalf("connected = %v, want id %q username/name %q", e, id, username)
	}
	wantUsers(t, e, users)
	wantTexts(t, messagesOf(t, e), msgs...)
}
