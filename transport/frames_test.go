package transport_test

// Bad frames: each gets an error, in JSON, and concerns only its socket.

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// --- where the seed server differs --------------------------------------

// TestNoNonJSONFrame: the seed sends the text "success connected" first;
// statecast sends nothing before `connected`, and only JSON objects.
func TestNoNonJSONFrame(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	conn, br, resp := rawHandshake(t, s, "/chat", "", "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	if err := writeFrame(conn, 0x1, []byte(`{"event":"connecting","id":1700000000000,"username":"ann"}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, payload, err := readFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if op != 0x1 || json.Unmarshal(payload, &e) != nil {
		t.Fatalf("first frame: opcode %d %q, want a JSON object", op, payload)
	}
	if e["event"] != "connected" || e["id"] != "1700000000000" {
		t.Fatalf("first frame %q, want connected with id \"1700000000000\"", payload)
	}
	// An error reply is JSON too.
	if err := writeFrame(conn, 0x1, []byte(`not json`)); err != nil {
		t.Fatal(err)
	}
	op, payload, err = readFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	if op != 0x1 || json.Unmarshal(payload, &e) != nil || e["event"] != "error" || e["code"] != "invalid_json" {
		t.Fatalf("reply to invalid JSON: opcode %d %q", op, payload)
	}
	conn.Close()
}

// TestBadFramesDoNotKillTheServer: invalid JSON, non-objects and binary
// frames killed the seed's process; here they only concern their socket.
func TestBadFramesDoNotKillTheServer(t *testing.T) {
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")

	for _, f := range []string{`{`, `hello`, `[1,2]`, `"str"`, `42`, `null`, `{"event":42}`, `{"event":"nope"}`} {
		bob.SendRaw(websocket.MessageText, []byte(f))
		bob.Expect("error")
	}
	bob.Say("bob is fine")
	for _, c := range []*chattest.Client{ann, bob} {
		expectMessage(t, c, "bob", "bob is fine")
	}
	bob.SendRaw(websocket.MessageBinary, []byte("{"))
	bob.ExpectClose(websocket.StatusUnsupportedData)
	ann.Expect("disconnected")

	ann.Say("ann is fine")
	expectMessage(t, ann, "ann", "ann is fine")
	cat, hello := s.Join(t, "/chat", "cat", "cat")
	if n := len(hello.List("messagesList")); n != 2 {
		t.Fatalf("new client sees %d messages, want 2", n)
	}
	if j := ann.Expect("joined"); j.Str("id") != "cat" {
		t.Fatalf("joined = %v, want cat", j)
	}
	cat.Say("cat is fine")
	for _, c := range []*chattest.Client{ann, cat} {
		expectMessage(t, c, "cat", "cat is fine")
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
			s := chattest.Start(t, server.Config{})
			obs, _ := s.Join(t, "/chat", "obs", "olga")
			c := s.Dial(t, "/chat")
			// Before connecting.
			c.SendRaw(websocket.MessageText, []byte(tc.frame))
			expectError(t, c, tc.code, tc.ref)
			c.Send(chattest.Connecting(map[string]any{"id": "ok", "username": "kim"}))
			wantConnected(t, c.Expect("connected"), "ok", "kim", map[string]string{"obs": "olga", "ok": "kim"})
			expectPresence(t, obs, "joined", "ok", "kim")
			// After connecting.
			c.SendRaw(websocket.MessageText, []byte(tc.frame))
			expectError(t, c, tc.code, tc.ref)
			c.Say("still here")
			wantTexts(t, expectWritten(t, c), "still here")
			// Others saw nothing of the bad frames.
			wantTexts(t, expectWritten(t, obs), "still here")
		})
	}
}
