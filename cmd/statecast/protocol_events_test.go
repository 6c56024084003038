package main

// End-to-end tests of the client→server events and the v1 server events of
// PROTOCOL.md: a real server on a loopback port, driven by real WebSocket
// clients. Presence, history and rooms are in protocol_presence_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// ---- helpers shared by the protocol tests ----

// connecting returns a `connecting` frame with the given fields.
func connecting(fields map[string]any) map[string]any {
	f := map[string]any{"event": "connecting"}
	for k, v := range fields {
		f[k] = v
	}
	return f
}

// write sends a writeMessage with text.
func (c *client) write(text string) {
	c.t.Helper()
	c.send(map[string]any{"event": "writeMessage", "message": text})
}

// leave closes the socket with a normal close handshake.
func (c *client) leave() {
	_ = c.conn.Close(websocket.StatusNormalClosure, "bye")
}

// nothingFor fails if any frame arrives within d, and leaves the socket
// usable (the harness's quiet ends the socket: coder/websocket closes a
// connection whose Read is cancelled). It waits d, then sends a probe that
// the server answers with an error: whatever the server queued for this
// socket before it would arrive first. Each probe counts as one bad frame
// towards the abuse limit (10 within 10 s), so use it sparingly.
func (c *client) nothingFor(d time.Duration) {
	c.t.Helper()
	time.Sleep(d)
	c.send(map[string]any{"event": "probe"})
	c.expectError("unknown_event", "probe")
}

// expectError reads the next frame and fails unless it is an `error` with
// code, a non-empty message, and ref (when ref is "", the ref must be absent
// or empty: the event is not known).
func (c *client) expectError(code, ref string) event {
	c.t.Helper()
	e := c.expect("error")
	if got := e.str("code"); got != code {
		c.t.Fatalf("error code = %q, want %q: %v", got, code, e)
	}
	if m, ok := e["message"].(string); !ok || m == "" {
		c.t.Fatalf("error without a message: %v", e)
	}
	if ref == "" {
		if r, ok := e["ref"]; ok && r != "" {
			c.t.Fatalf("error ref = %v, want none: %v", r, e)
		}
	} else if got, ok := e["ref"].(string); !ok || got != ref {
		c.t.Fatalf("error ref = %v, want %q: %v", e["ref"], ref, e)
	}
	return e
}

// expectPresence reads the next frame and fails unless it is the presence
// event name (joined or disconnected) for id and username, with both
// `username` and `name`.
func (c *client) expectPresence(name, id, username string) {
	c.t.Helper()
	e := c.expect(name)
	if e.str("id") != id || e.str("username") != username || e.str("name") != username {
		c.t.Fatalf("%s = %v, want id %q username/name %q", name, e, id, username)
	}
}

// expectWritten reads the next frame, fails unless it is a messageWritten,
// and returns its messages.
func (c *client) expectWritten() []chatMsg {
	c.t.Helper()
	return messagesOf(c.t, c.expect("messageWritten"))
}

// chatMsg is one message object of a messagesList.
type chatMsg struct {
	ID, UserID, Username, Message, At string
	Seq                               float64
}

func (m chatMsg) String() string { return fmt.Sprintf("%s:%q", m.Username, m.Message) }

// messagesOf returns e's messagesList, which must be a JSON array of objects
// with string username and message.
func messagesOf(t *testing.T, e event) []chatMsg {
	t.Helper()
	raw, ok := e["messagesList"].([]any)
	if !ok {
		t.Fatalf("messagesList missing or not an array: %v", e)
	}
	out := make([]chatMsg, len(raw))
	for i, x := range raw {
		o, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("messagesList[%d] is not an object: %v", i, e)
		}
		u, ok1 := o["username"].(string)
		m, ok2 := o["message"].(string)
		if !ok1 || !ok2 {
			t.Fatalf("messagesList[%d] lacks a string username or message: %v", i, o)
		}
		out[i] = chatMsg{Username: u, Message: m}
		out[i].ID, _ = o["id"].(string)
		out[i].UserID, _ = o["userId"].(string)
		out[i].At, _ = o["at"].(string)
		out[i].Seq, _ = o["seq"].(float64)
	}
	return out
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
func wantUsers(t *testing.T, e event, want map[string]string) {
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
func wantConnected(t *testing.T, e event, id, username string, users map[string]string, msgs ...string) {
	t.Helper()
	if e.str("event") != "connected" || e.str("id") != id || e.str("username") != username || e.str("name") != username {
		t.Fatalf("connected = %v, want id %q username/name %q", e, id, username)
	}
	wantUsers(t, e, users)
	wantTexts(t, messagesOf(t, e), msgs...)
}

// ---- connecting ----

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
			s := startServer(t)
			c := s.dial("/chat")
			c.send(connecting(tc.fields))
			e := c.expect("connected")
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
			s := startServer(t)
			c := s.dial("/chat")
			c.sendRaw(websocket.MessageText, []byte(`{"event":"connecting","id":`+tc.lit+`,"username":"ann"}`))
			wantConnected(t, c.expect("connected"), tc.id, "ann", map[string]string{tc.id: "ann"})
			// The number and its string are the same user: a second tab, not
			// announced.
			d := s.dial("/chat")
			d.send(connecting(map[string]any{"id": tc.id, "username": "ann"}))
			wantConnected(t, d.expect("connected"), tc.id, "ann", map[string]string{tc.id: "ann"})
			c.nothingFor(50 * time.Millisecond)
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
			s := startServer(t)
			a := s.dial("/chat")
			a.send(connecting(tc.fields))
			ea := a.expect("connected")
			idA := ea.str("id")
			if _, err := uuid.Parse(idA); err != nil {
				t.Fatalf("generated id %q is not a UUID: %v", idA, ea)
			}
			wantConnected(t, ea, idA, "ann", map[string]string{idA: "ann"})

			// Another socket without an id is another user.
			b := s.dial("/chat")
			b.send(connecting(tc.fields))
			eb := b.expect("connected")
			idB := eb.str("id")
			if _, err := uuid.Parse(idB); err != nil || idB == idA {
				t.Fatalf("second generated id %q (first %q): %v", idB, idA, eb)
			}
			wantConnected(t, eb, idB, "ann", map[string]string{idA: "ann", idB: "ann"})
			a.expectPresence("joined", idB, "ann")

			// The generated id is the session's user id.
			b.write("hi")
			for _, c := range []*client{a, b} {
				m := c.expectWritten()
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
			s := startServer(t)
			obs, _ := s.join("/chat", "obs", "olga")
			c := s.dial("/chat")
			c.send(connecting(tc.fields))
			c.expectError(tc.code, "connecting")
			// The socket stays open and may connect now, as someone else.
			c.send(connecting(map[string]any{"id": "ok", "username": "kim"}))
			wantConnected(t, c.expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
			// The refused attempt announced nobody.
			obs.expectPresence("joined", "ok", "kim")
		})
	}
}

// Bad frames get an error and leave the socket open, before and after
// connecting.
func TestBadFrames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, frame, code, ref string
	}{
		{"invalid json", `{"event":"connecting",`, "invalid_json", ""},
		{"invalid json text", `hello`, "invalid_json", ""},
		{"success connected", `success connected`, "invalid_json", ""},
		{"empty frame", ``, "invalid_json", ""},
		{"array", `[{"event":"connecting","id":"x","username":"eve"}]`, "not_an_object", ""},
		{"empty array", `[]`, "not_an_object", ""},
		{"number", `42`, "not_an_object", ""},
		{"string", `"connecting"`, "not_an_object", ""},
		{"null", `null`, "not_an_object", ""},
		{"bool", `true`, "not_an_object", ""},
		{"missing event", `{"id":"x","username":"eve"}`, "missing_field", ""},
		{"null event", `{"event":null,"id":"x","username":"eve"}`, "missing_field", ""},
		{"number event", `{"event":5,"message":"hi"}`, "wrong_type", ""},
		{"object event", `{"event":{"name":"connecting"},"message":"hi"}`, "wrong_type", ""},
		{"unknown event", `{"event":"shout","message":"hi"}`, "unknown_event", "shout"},
		{"event case matters", `{"event":"WriteMessage","message":"hi"}`, "unknown_event", "WriteMessage"},
		{"key case matters", `{"Event":"writeMessage","message":"hi"}`, "missing_field", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			obs, _ := s.join("/chat", "obs", "olga")
			c := s.dial("/chat")
			// Before connecting.
			c.sendRaw(websocket.MessageText, []byte(tc.frame))
			c.expectError(tc.code, tc.ref)
			c.send(connecting(map[string]any{"id": "ok", "username": "kim"}))
			wantConnected(t, c.expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
			obs.expectPresence("joined", "ok", "kim")
			// After connecting.
			c.sendRaw(websocket.MessageText, []byte(tc.frame))
			c.expectError(tc.code, tc.ref)
			c.write("still here")
			wantTexts(t, c.expectWritten(), "still here")
			// Others saw nothing of the bad frames.
			wantTexts(t, obs.expectWritten(), "still here")
		})
	}
}

func TestNotConnected(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	obs, _ := s.join("/chat", "obs", "olga")
	c := s.dial("/chat")
	c.send(map[string]any{"event": "writeMessage", "message": "too early", "username": "olga"})
	c.expectError("not_connected", "writeMessage")
	c.send(connecting(map[string]any{"id": "ok", "username": "kim"}))
	wantConnected(t, c.expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
	obs.expectPresence("joined", "ok", "kim")
	c.write("now")
	wantTexts(t, c.expectWritten(), "now")
	wantTexts(t, obs.expectWritten(), "now")
}

func TestAlreadyConnected(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	obs, _ := s.join("/chat", "obs", "olga")
	c, _ := s.join("/chat", "ann-id", "ann")
	obs.expectPresence("joined", "ann-id", "ann")
	for _, f := range []map[string]any{
		{"id": "eve-id", "username": "eve"},
		{"id": "ann-id", "username": "ann"},
		{"id": "obs", "username": "olga"},
		{"username": "ann"},
	} {
		c.send(connecting(f))
		c.expectError("already_connected", "connecting")
	}
	// The socket is still ann's, and nobody new was announced.
	c.write("me")
	for _, r := range []*client{c, obs} {
		m := r.expectWritten()
		if len(m) != 1 || m[0].Username != "ann" || m[0].UserID != "ann-id" || m[0].Message != "me" {
			t.Fatalf("messageWritten = %+v, want one message by ann", m)
		}
	}
	late, hello := s.join("/chat", "late", "lee")
	wantConnected(t, hello, "late", "lee", map[string]string{"obs": "olga", "ann-id": "ann", "late": "lee"}, "me")
	obs.expectPresence("joined", "late", "lee")
	c.expectPresence("joined", "late", "lee")
	_ = late
}

// The server greets nobody before connecting: the seed server's
// `success connected` text is gone, and `connected` is the first frame.
func TestNoGreetingBeforeConnected(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.dial("/chat")
	time.Sleep(300 * time.Millisecond) // a greeting would be read first
	c.send(connecting(map[string]any{"id": "1", "username": "ann"}))
	wantConnected(t, c.expect("connected"), "1", "ann", map[string]string{"1": "ann"})
}

// ---- writeMessage ----

func TestWriteMessageRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		frame map[string]any
		code  string
	}{
		{"missing message", map[string]any{"event": "writeMessage"}, "missing_field"},
		{"missing message with username", map[string]any{"event": "writeMessage", "username": "ann"}, "missing_field"},
		{"null message", map[string]any{"event": "writeMessage", "message": nil}, "missing_field"},
		{"number message", map[string]any{"event": "writeMessage", "message": 5}, "wrong_type"},
		{"object message", map[string]any{"event": "writeMessage", "message": map[string]any{"text": "hi"}}, "wrong_type"},
		{"array message", map[string]any{"event": "writeMessage", "message": []any{"hi"}}, "wrong_type"},
		{"bool message", map[string]any{"event": "writeMessage", "message": true}, "wrong_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			obs, _ := s.join("/chat", "obs", "olga")
			c, _ := s.join("/chat", "ann-id", "ann")
			obs.expectPresence("joined", "ann-id", "ann")
			c.send(tc.frame)
			c.expectError(tc.code, "writeMessage")
			c.write("valid")
			wantTexts(t, c.expectWritten(), "valid")
			wantTexts(t, obs.expectWritten(), "valid")
		})
	}
}

// The username of writeMessage is ignored, whatever its type: the message
// carries the session's own name (the seed let anyone post as anyone).
func TestWriteMessageIgnoresUsername(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		username any
	}{
		{"another user's name", "bob"},
		{"a stranger's name", "mallory"},
		{"empty", ""},
		{"number", 42},
		{"object", map[string]any{"username": "bob"}},
		{"array", []any{"bob"}},
		{"bool", true},
		{"null", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			bob, _ := s.join("/chat", "bob-id", "bob")
			ann, _ := s.join("/chat", "ann-id", "ann")
			bob.expectPresence("joined", "ann-id", "ann")
			ann.send(map[string]any{"event": "writeMessage", "message": "hello", "username": tc.username})
			for _, c := range []*client{ann, bob} {
				m := c.expectWritten()
				if len(m) != 1 || m[0].Username != "ann" || m[0].UserID != "ann-id" || m[0].Message != "hello" {
					t.Fatalf("messageWritten = %+v, want one message by ann (ann-id)", m)
				}
			}
		})
	}
}

// v1 message objects carry username and message, and the extras userId and
// seq; nothing else (every v1 message event repeats the whole window, so
// the message's own id and time stay in v2).
func TestMessageFields(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann, _ := s.join("/chat", "ann-id", "ann")
	ann.write("one")
	ann.write("two")
	ann.expectWritten()
	e := ann.expect("messageWritten")
	msgs := messagesOf(t, e)
	wantTexts(t, msgs, "one", "two")
	for i, raw := range e["messagesList"].([]any) {
		var keys []string
		for k := range raw.(map[string]any) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, ","); got != "message,seq,userId,username" {
			t.Fatalf("message %d has the fields %s, want message,seq,userId,username", i, got)
		}
	}
	for i, m := range msgs {
		if m.Username != "ann" || m.UserID != "ann-id" {
			t.Fatalf("message %d = %+v, want by ann (ann-id)", i, m)
		}
		if m.Seq < 1 {
			t.Fatalf("message %d seq = %v, want positive", i, m.Seq)
		}
	}
	if msgs[1].Seq <= msgs[0].Seq {
		t.Fatalf("seqs do not grow: %+v", msgs)
	}
	// A newcomer gets the same objects.
	_, hello := s.join("/chat", "bob-id", "bob")
	got := messagesOf(t, hello)
	if len(got) != 2 || got[0] != msgs[0] || got[1] != msgs[1] {
		t.Fatalf("connected messagesList = %+v, want %+v", got, msgs)
	}
}

// messageWritten goes to every socket of the room, sender and the sender's
// other tabs included, once per message.
func TestMessageWrittenToEverySocket(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann1, _ := s.join("/chat", "ann-id", "ann")
	ann2, hello := s.join("/chat", "ann-id", "ann")
	wantUsers(t, hello, map[string]string{"ann-id": "ann"})
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann1.expectPresence("joined", "bob-id", "bob")
	ann2.expectPresence("joined", "bob-id", "bob")
	ann1.write("from tab 1")
	for _, c := range []*client{ann1, ann2, bob} {
		wantTexts(t, c.expectWritten(), "from tab 1")
	}
	bob.write("from bob")
	for _, c := range []*client{ann1, ann2, bob} {
		m := c.expectWritten()
		wantTexts(t, m, "from tab 1", "from bob")
		if m[0].Username != "ann" || m[1].Username != "bob" {
			t.Fatalf("messages = %+v", m)
		}
	}
	for _, c := range []*client{ann1, ann2, bob} {
		c.nothingFor(100 * time.Millisecond)
	}
}

// Rule 4: each added message has its own messageWritten, in order, and
// each list is the previous one plus the new message.
func TestEachMessageItsOwnEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ann, _ := s.join("/chat", "ann-id", "ann")
	bob, _ := s.join("/chat", "bob-id", "bob")
	ann.expectPresence("joined", "bob-id", "bob")
	const n = 10
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("m%d", i))
	}
	// Write them back to back, without waiting for the echoes.
	frames := make([][]byte, n)
	for i := range frames {
		frames[i], _ = json.Marshal(map[string]any{"event": "writeMessage", "message": want[i]})
	}
	for _, f := range frames {
		ann.sendRaw(websocket.MessageText, f)
	}
	for _, c := range []*client{ann, bob} {
		for i := 0; i < n; i++ {
			wantTexts(t, c.expectWritten(), want[:i+1]...)
		}
		c.nothingFor(100 * time.Millisecond)
	}
}

// readWritten reads one frame without touching testing.T, for goroutines,
// and returns its messagesList; any frame but a messageWritten is an error.
func readWritten(conn *websocket.Conn, d time.Duration) ([]chatMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("binary frame")
	}
	var e struct {
		Event        *string   `json:"event"`
		MessagesList []chatMsg `json:"messagesList"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Event == nil {
		return nil, fmt.Errorf("frame is not a JSON object with an event: %q", b)
	}
	if *e.Event != "messageWritten" || e.MessagesList == nil {
		return nil, fmt.Errorf("unexpected frame %s", b)
	}
	return e.MessagesList, nil
}

// Several writers at once: every socket sees every message exactly once,
// one messageWritten each, and all sockets see the same order.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const clients, perClient = 5, 20
	const total = clients * perClient
	// Each client writes 20 messages back to back after its connecting, all
	// from one address: just above the default rate limits.
	s := startServer(t, "-rate", "0", "-rate-per-address", "0")
	cs := make([]*client, clients)
	for i := range cs {
		cs[i], _ = s.join("/chat", fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i))
		for j := 0; j < i; j++ {
			cs[j].expectPresence("joined", fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i))
		}
	}

	type result struct {
		lists [][]chatMsg // each messageWritten's list
		err   error
	}
	results := make([]result, clients)
	writeErrs := make([]error, clients)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(2)
		go func() { // reader
			defer wg.Done()
			r := &results[i]
			for len(r.lists) < total {
				list, err := readWritten(c.conn, 10*time.Second)
				if err != nil {
					r.err = fmt.Errorf("after %d messageWritten: %w", len(r.lists), err)
					return
				}
				r.lists = append(r.lists, list)
			}
		}()
		go func() { // writer
			defer wg.Done()
			for k := 0; k < perClient; k++ {
				b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprintf("c%d-m%d", i, k),
					"username": "user0"})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.conn.Write(ctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					writeErrs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range cs {
		if writeErrs[i] != nil {
			t.Fatalf("client %d write: %v", i, writeErrs[i])
		}
		if results[i].err != nil {
			t.Fatalf("client %d: %v", i, results[i].err)
		}
	}

	// Everyone's final list is the same: every message once, each writer's
	// messages in the order it sent them, by the writer's own name.
	final := results[0].lists[total-1]
	if len(final) != total {
		t.Fatalf("final list has %d messages, want %d", len(final), total)
	}
	seen := map[string]bool{}
	next := make([]int, clients)
	for _, m := range final {
		if seen[m.Message] {
			t.Fatalf("message %q twice in %v", m.Message, final)
		}
		seen[m.Message] = true
		var ci, k int
		if _, err := fmt.Sscanf(m.Message, "c%d-m%d", &ci, &k); err != nil || ci < 0 || ci >= clients {
			t.Fatalf("unexpected message %q", m.Message)
		}
		if k != next[ci] {
			t.Fatalf("client %d's messages out of order: got m%d, want m%d", ci, k, next[ci])
		}
		next[ci]++
		if m.Username != fmt.Sprintf("user%d", ci) || m.UserID != fmt.Sprintf("u%d", ci) {
			t.Fatalf("message %q carries %q (%q), want user%d (u%d)", m.Message, m.Username, m.UserID, ci, ci)
		}
	}
	for i, r := range results {
		// Event k holds exactly the first k+1 messages of the common order.
		for k, list := range r.lists {
			if len(list) != k+1 {
				t.Fatalf("client %d: messageWritten %d has %d messages, want %d", i, k, len(list), k+1)
			}
			for j, m := range list {
				if m != final[j] {
					t.Fatalf("client %d: messageWritten %d differs at %d: %+v, want %+v", i, k, j, m, final[j])
				}
			}
		}
	}
	for _, c := range cs {
		c.nothingFor(50 * time.Millisecond)
	}
}

// A socket that connects while messages flow misses none and sees none
// twice: its connected list and the messageWritten events after it form one
// unbroken sequence.
func TestJoinWhileMessagesFlow(t *testing.T) {
	t.Parallel()
	const total = 100
	s := startServer(t, "-rate", "0", "-rate-per-address", "0") // about 1000 messages per second
	w, hello := s.join("/chat", "w", "writer")
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprintf("m%03d", i)})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := w.conn.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				done <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
		done <- nil
	}()
	clients := []*client{w}
	starts := [][]chatMsg{messagesOf(t, hello)}
	for i := 0; i < 5; i++ {
		time.Sleep(15 * time.Millisecond)
		c, e := s.join("/chat", fmt.Sprintf("j%d", i), fmt.Sprintf("joiner%d", i))
		clients = append(clients, c)
		starts = append(starts, messagesOf(t, e))
	}
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	for i, c := range clients {
		prev := starts[i]
		for k, m := range prev {
			if m.Message != fmt.Sprintf("m%03d", k) {
				t.Fatalf("client %d: connected list %v is not the start of the flow", i, prev)
			}
		}
		for len(prev) < total {
			e := c.expectAny()
			switch e.str("event") {
			case "joined":
				continue // a later joiner
			case "messageWritten":
			default:
				t.Fatalf("client %d: unexpected %v", i, e)
			}
			list := messagesOf(t, e)
			if len(list) != len(prev)+1 || list[len(prev)].Message != fmt.Sprintf("m%03d", len(prev)) {
				t.Fatalf("client %d: after %d messages got %v", i, len(prev), texts(list))
			}
			for k := range prev {
				if list[k] != prev[k] {
					t.Fatalf("client %d: message %d changed from %+v to %+v", i, k, prev[k], list[k])
				}
			}
			prev = list
		}
	}
}

// expectAny reads the next frame, whatever its event.
func (c *client) expectAny() event {
	c.t.Helper()
	e, err := c.next(5 * time.Second)
	if err != nil {
		c.t.Fatalf("waiting for a frame: %v", err)
	}
	return e
}
