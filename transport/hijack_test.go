package transport_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestFramesWithTheHandshake: frames a client sends in the same packet as
// its upgrade request, before the 101 (they reach net/http's buffer before
// the socket gets buffers of its own), are read, in order, small or larger
// than the socket's read buffer.
func TestFramesWithTheHandshake(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	long := strings.Repeat("x", 1500)
	var early bytes.Buffer
	writeFrame(&early, 0x1, []byte(`{"event":"connecting","id":1700000000000,"username":"ann"}`))
	writeFrame(&early, 0x1, []byte(`{"event":"writeMessage","username":"ann","message":"`+long+`"}`))
	conn, br, resp := rawHandshakeWith(t, s, "/chat/early", "", "", early.Bytes())
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var events []string
	for {
		_, payload, err := readFrame(br)
		if err != nil {
			t.Fatalf("after %v: %v", events, err)
		}
		var e struct {
			Event    string
			Messages []struct{ Message string } `json:"messagesList"`
		}
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Fatalf("frame %q: %v", payload, err)
		}
		events = append(events, e.Event)
		if e.Event == "messageWritten" {
			if n := len(e.Messages); n != 1 || e.Messages[0].Message != long {
				t.Fatalf("messageWritten holds %d messages, want the one sent with the handshake", n)
			}
			break
		}
	}
	if events[0] != "connected" {
		t.Fatalf("events %v, want connected first", events)
	}
}
