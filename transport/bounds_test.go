package transport_test

// Bounds: the rooms cap, the handshake and first-connecting timeouts, and
// idle rooms leaving the hub's memory; each with its metric.

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestMaxRooms: once the state holds MaxRooms rooms, an upgrade to a new
// room gets 403 with the reason, and the rooms that exist stay reachable.
func TestMaxRooms(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Transport: transport.Config{MaxRooms: 2}})
	s.Join(t, "/chat/one", "ann", "Ann")
	s.Join(t, "/chat/two", "bob", "Bob")

	_, resp, err := chattest.DialURL(t, s.URL("/chat/three"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upgrade to a third room: err %v, response %+v; want 403", err, resp)
	}
	if _, body := s.Get(t, "/chat/three"); !strings.Contains(body, "as many rooms as it may (2)") {
		t.Errorf("refusal body = %q, want the reason", body)
	}
	if n := s.Metric(t, `statecast_handshakes_refused_total{why="rooms"}`); n < 1 {
		t.Errorf("rooms refusals = %v, want at least 1", n)
	}
	if n := s.Metric(t, "statecast_rooms"); n != 2 {
		t.Errorf("statecast_rooms = %v, want 2", n)
	}
	// Both existing rooms, once more each.
	s.Join(t, "/chat/one", "cat", "Cat")
	s.Join(t, "/chat/two", "dan", "Dan")
}

// TestMaxRoomsConcurrent: upgrades to many new rooms at once cannot pass
// the cap together.
func TestMaxRoomsConcurrent(t *testing.T) {
	t.Parallel()
	const max = 3
	s := chattest.Start(t, server.Config{Transport: transport.Config{MaxRooms: max}})
	ok := make(chan bool, 10)
	for i := range 10 {
		go func() {
			c, _, err := chattest.DialURL(t, s.URL("/chat/r"+string(rune('a'+i))))
			if err == nil {
				c.Send(chattest.Connecting(map[string]any{"id": "u", "username": "U"}))
				c.Expect("connected")
			}
			ok <- err == nil
		}()
	}
	opened := 0
	for range 10 {
		if <-ok {
			opened++
		}
	}
	if opened != max {
		t.Errorf("%d new rooms opened at once, want %d", opened, max)
	}
	if n := len(s.Store().GetState().RoomNames()); n != max {
		t.Errorf("the state holds %d rooms, want %d", n, max)
	}
}

// TestConnectTimeout: a socket that sends no `connecting` is closed with
// 1008 after ConnectTimeout; one that sent it stays open.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{ConnectTimeout: timeout}})
	joined, _ := s.Join(t, "/chat", "ann", "Ann")
	silent := s.Dial(t, "/chat")
	start := time.Now()
	silent.ExpectClose(websocket.StatusPolicyViolation)
	if took := time.Since(start); took < timeout/2 {
		t.Errorf("closed after %v, before the timeout of %v", took, timeout)
	}
	time.Sleep(timeout)
	joined.Say("still here")
	joined.Expect("messageWritten")
	if n := s.Metric(t, "statecast_connect_timeouts_total"); n != 1 {
		t.Errorf("statecast_connect_timeouts_total = %v, want 1", n)
	}
}

// TestHandshakeTimeout: a connection that sends no request is closed
// after HandshakeTimeout, and counted.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{HandshakeTimeout: timeout}})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /chat HTTP/1.1\r\nHost: x\r\n")) // never finished
	conn.SetReadDeadline(time.Now().Add(chattest.Timeout))
	start := time.Now()
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("waiting for the server to close: %v", err)
	}
	if took := time.Since(start); took < timeout/2 {
		t.Errorf("closed after %v, before the timeout of %v", took, timeout)
	}
	deadline := time.Now().Add(chattest.Timeout)
	for s.Metric(t, "statecast_handshake_timeouts_total") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("statecast_handshake_timeouts_total never became 1")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdleRoomLeavesMemory: a room with no socket for IdleRoom loses its
// feed at the next change; a later socket gets the room's messages from
// the state, and a v2 resume from before gets a snapshot.
func TestIdleRoomLeavesMemory(t *testing.T) {
	t.Parallel()
	const idle = 100 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{IdleRoom: idle}})
	ann := s.JoinV2(t, "/chat/quiet", "ann", "Ann")
	ann.Say("kept in the log")
	ann.Expect("patch")
	ann.Close()
	time.Sleep(2 * idle)
	for i := 0; s.Metric(t, "statecast_room_feeds_dropped_total") < 1; i++ {
		if i == 50 {
			t.Fatal("the idle room's feed was never dropped")
		}
		s.Join(t, "/chat/busy", "bob", "Bob") // changes run the sweep
		time.Sleep(idle)
	}
	if n := s.Metric(t, "statecast_room_feeds"); n != 1 {
		t.Errorf("statecast_room_feeds = %v, want 1 (the busy room)", n)
	}

	_, connected := s.Join(t, "/chat/quiet", "cat", "Cat")
	if msgs := connected.List("messagesList"); len(msgs) != 1 || !strings.Contains(connected.String(), "kept in the log") {
		t.Errorf("connected after the feed was dropped = %v, want the message", connected)
	}
	_, reply := s.Resume(t, "/chat/quiet", ann)
	if reply.Name() != "snapshot" {
		t.Errorf("resume after the feed was dropped = %v, want a snapshot", reply)
	}
}
