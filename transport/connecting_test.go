package transport_test

// The connecting event of docs/protocol.md's v1 dialect, end to end.

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestConnectingAccepted(t *testing.T) {
	t.Parallel()
	emoji64 := strings.Repeat("😀", 64)
	ascii64 := strings.Repeat("a", 64)
	cases := []struct {
		name     string
		fields   map[string]any
		id, user string
	}{
		{"string id", map[string]any{"id": "abc-1", "username": "ann"}, "abc-1", "ann"},
		{"seed id", map[string]any{"id": "1700000000000", "username": "ann"}, "1700000000000", "ann"},
		{"number id", map[string]any{"id": 1700000000000, "username": "ann"}, "1700000000000", "ann"},
		{"small number id", map[string]any{"id": 42, "username": "ann"}, "42", "ann"},
		{"zero id", map[string]any{"id": 0, "username": "ann"}, "0", "ann"},
		{"username wins over name", map[string]any{"id": "u", "username": "ann", "name": "bob"}, "u", "ann"},
		{"name alone", map[string]any{"id": "u", "name": "bob"}, "u", "bob"},
		{"empty username falls back to name", map[string]any{"id": "u", "username": "", "name": "bob"}, "u", "bob"},
		{"64 emoji", map[string]any{"id": "u", "username": emoji64}, "u", emoji64},
		{"64 ascii", map[string]any{"id": "u", "username": ascii64}, "u", ascii64},
		{"unicode name", map[string]any{"id": "u", "username": "Zoë 李"}, "u", "Zoë 李"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			c := s.Dial(t, "/chat")
			c.Send(chattest.Connecting(tc.fields))
			e := c.Expect("connected")
			wantConnected(t, e, tc.id, tc.user, map[string]string{tc.id: tc.user})
		})
	}
}

// Number ids become their decimal string (as JavaScript's String(n) writes
// them), sent here as raw JSON literals.
func TestConnectingNumberIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lit, id string }{
		{"1700000000000", "1700000000000"},
		{"42", "42"},
		{"0", "0"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"0.0", "0"},
		{"-7", "-7"},
		{"1.5", "1.5"},
		{"1.0", "1"},
		{"1e3", "1000"},
		{"1E+3", "1000"},
		{"17000000000.00e2", "1700000000000"},
	} {
		t.Run(tc.lit, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			c := s.Dial(t, "/chat")
			c.SendRaw(websocket.MessageText, []byte(`{"event":"connecting","id":`+tc.lit+`,"username":"ann"}`))
			wantConnected(t, c.Expect("connected"), tc.id, "ann", map[string]string{tc.id: "ann"})
			// The number and its string are the same user: a second tab, not
			// announced.
			d := s.Dial(t, "/chat")
			d.Send(chattest.Connecting(map[string]any{"id": tc.id, "username": "ann"}))
			wantConnected(t, d.Expect("connected"), tc.id, "ann", map[string]string{tc.id: "ann"})
			nothingFor(t, c, 50*time.Millisecond)
		})
	}
}

func TestConnectingGeneratesID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fields map[string]any
	}{
		{"no id", map[string]any{"username": "ann"}},
		{"empty id", map[string]any{"id": "", "username": "ann"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			a := s.Dial(t, "/chat")
			a.Send(chattest.Connecting(tc.fields))
			ea := a.Expect("connected")
			idA := ea.Str("id")
			if _, err := uuid.Parse(idA); err != nil {
				t.Fatalf("generated id %q is not a UUID: %v", idA, ea)
			}
			wantConnected(t, ea, idA, "ann", map[string]string{idA: "ann"})

			// Another socket without an id is another user.
			b := s.Dial(t, "/chat")
			b.Send(chattest.Connecting(tc.fields))
			eb := b.Expect("connected")
			idB := eb.Str("id")
			if _, err := uuid.Parse(idB); err != nil || idB == idA {
				t.Fatalf("second generated id %q (first %q): %v", idB, idA, eb)
			}
			wantConnected(t, eb, idB, "ann", map[string]string{idA: "ann", idB: "ann"})
			expectPresence(t, a, "joined", idB, "ann")

			// The generated id is the session's user id.
			b.Say("hi")
			for _, c := range []*chattest.Client{a, b} {
				m := expectWritten(t, c)
				if len(m) != 1 || m[0].UserID != idB || m[0].Username != "ann" {
					t.Fatalf("messageWritten = %v (userId %q), want one message of %q", m, m[0].UserID, idB)
				}
			}
		})
	}
}

// A refused connecting gets an error, changes nothing, and the socket may
// connect afterwards.
func TestConnectingRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fields map[string]any
		code   string
	}{
		{"no username or name", map[string]any{"id": "x"}, "missing_field"},
		{"empty username", map[string]any{"id": "x", "username": ""}, "missing_field"},
		{"empty username and name", map[string]any{"id": "x", "username": "", "name": ""}, "missing_field"},
		{"empty name", map[string]any{"id": "x", "name": ""}, "missing_field"},
		{"null username", map[string]any{"id": "x", "username": nil}, "missing_field"},
		{"65 emoji", map[string]any{"id": "x", "username": strings.Repeat("😀", 65)}, "username_too_long"},
		{"65 ascii", map[string]any{"id": "x", "username": strings.Repeat("a", 65)}, "username_too_long"},
		{"65 ascii name", map[string]any{"id": "x", "name": strings.Repeat("a", 65)}, "username_too_long"},
		{"id object", map[string]any{"id": map[string]any{"a": 1}, "username": "eve"}, "wrong_type"},
		{"id empty object", map[string]any{"id": map[string]any{}, "username": "eve"}, "wrong_type"},
		{"id array", map[string]any{"id": []any{1}, "username": "eve"}, "wrong_type"},
		{"id true", map[string]any{"id": true, "username": "eve"}, "wrong_type"},
		{"id false", map[string]any{"id": false, "username": "eve"}, "wrong_type"},
		{"username number", map[string]any{"id": "x", "username": 7}, "wrong_type"},
		{"username object", map[string]any{"id": "x", "username": map[string]any{"n": "eve"}}, "wrong_type"},
		{"username number with name", map[string]any{"id": "x", "username": 7, "name": "eve"}, "wrong_type"},
		{"name number", map[string]any{"id": "x", "name": 7}, "wrong_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			obs, _ := s.Join(t, "/chat", "obs", "olga")
			c := s.Dial(t, "/chat")
			c.Send(chattest.Connecting(tc.fields))
			expectError(t, c, tc.code, "connecting")
			// The socket stays open and may connect now, as someone else.
			c.Send(chattest.Connecting(map[string]any{"id": "ok", "username": "kim"}))
			wantConnected(t, c.Expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
			// The refused attempt announced nobody.
			expectPresence(t, obs, "joined", "ok", "kim")
		})
	}
}

func TestNotConnected(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	obs, _ := s.Join(t, "/chat", "obs", "olga")
	c := s.Dial(t, "/chat")
	c.Send(map[string]any{"event": "writeMessage", "message": "too early", "username": "olga"})
	expectError(t, c, "not_connected", "writeMessage")
	c.Send(chattest.Connecting(map[string]any{"id": "ok", "username": "kim"}))
	wantConnected(t, c.Expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
	expectPresence(t, obs, "joined", "ok", "kim")
	c.Say("now")
	wantTexts(t, expectWritten(t, c), "now")
	wantTexts(t, expectWritten(t, obs), "now")
}

func TestAlreadyConnected(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	obs, _ := s.Join(t, "/chat", "obs", "olga")
	c, _ := s.Join(t, "/chat", "ann-id", "ann")
	expectPresence(t, obs, "joined", "ann-id", "ann")
	for _, f := range []map[string]any{
		{"id": "eve-id", "username": "eve"},
		{"id": "ann-id", "username": "ann"},
		{"id": "obs", "username": "olga"},
		{"username": "ann"},
	} {
		c.Send(chattest.Connecting(f))
		expectError(t, c, "already_connected", "connecting")
	}
	// The socket is still ann's, and nobody new was announced.
	c.Say("me")
	for _, r := range []*chattest.Client{c, obs} {
		m := expectWritten(t, r)
		if len(m) != 1 || m[0].Username != "ann" || m[0].UserID != "ann-id" || m[0].Message != "me" {
			t.Fatalf("messageWritten = %+v, want one message by ann", m)
		}
	}
	late, hello := s.Join(t, "/chat", "late", "lee")
	wantConnected(t, hello, "late", "lee", map[string]string{"obs": "olga", "ann-id": "ann", "late": "lee"}, "me")
	expectPresence(t, obs, "joined", "late", "lee")
	expectPresence(t, c, "joined", "late", "lee")
	_ = late
}

// The server greets nobody before connecting: the seed server's
// `success connected` text is gone, and `connected` is the first frame.
func TestNoGreetingBeforeConnected(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	c := s.Dial(t, "/chat")
	time.Sleep(300 * time.Millisecond) // a greeting would be read first
	c.Send(chattest.Connecting(map[string]any{"id": "1", "username": "ann"}))
	wantConnected(t, c.Expect("connected"), "1", "ann", map[string]string{"1": "ann"})
}
