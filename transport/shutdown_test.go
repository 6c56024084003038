package transport_test

// Graceful shutdown: every socket gets 1001 after the frames queued for it.

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestGracefulShutdown: every open socket, in every room and connected or
// not, is closed with 1001 after the frames already queued for it, and the
// server stops accepting.
func TestGracefulShutdown(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	var inChat, inOther []*chattest.Client
	for i := range 3 {
		c, _ := s.Join(t, "/chat", fmt.Sprint("c", i), fmt.Sprint("chat", i))
		inChat = append(inChat, c)
	}
	for i := range 2 {
		c, _ := s.Join(t, "/chat/other", fmt.Sprint("o", i), fmt.Sprint("other", i))
		inOther = append(inOther, c)
	}
	idle := s.Dial(t, "/chat") // never sent connecting
	// Messages written just before the shutdown: the server has applied
	// them (their writers have their echo) but the others have not read them.
	inChat[0].Say("last words")
	if u, m := lastMessage(t, until(t, inChat[0], "messageWritten")); u != "chat0" || m != "last words" {
		t.Fatalf("echo = %s: %s", u, m)
	}
	inOther[1].Say("bye")
	expectMessage(t, inOther[1], "other1", "bye")

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()

	check := func(c *chattest.Client, name string, want ...string) {
		t.Helper()
		var got []string
		for {
			e, err := c.NextWithin(5 * time.Second)
			if err != nil {
				if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
					t.Errorf("%s: socket ended with %d (%v), want 1001", name, st, err)
				}
				break
			}
			switch e.Str("event") {
			case "joined":
				continue
			case "messageWritten":
				u, m := lastMessage(t, e)
				got = append(got, u+": "+m)
			default:
				got = append(got, e.Str("event"))
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s got %q before the close, want %q", name, got, want)
		}
	}
	check(inChat[0], "chat0")
	check(inChat[1], "chat1", "chat0: last words")
	check(inChat[2], "chat2", "chat0: last words")
	check(inOther[0], "other0", "other1: bye")
	check(inOther[1], "other1")
	check(idle, "idle socket")

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	if _, err := dialHeader(t, s, "/chat", nil); err == nil {
		t.Fatal("the server still accepts sockets after shutdown")
	}
}

func TestGracefulShutdownFlushesQueues(t *testing.T) {
	const total = 60
	s := chattest.Start(t, server.Config{History: 20, RateLimit: noRateLimit}) // 60 messages back to back
	lag := dialSmallBuffer(t, s, "/chat")
	lag.Send(map[string]any{"event": "connecting", "id": "lag", "username": "lag"})
	lag.Expect("connected")
	ann, _ := s.Join(t, "/chat", "ann", "ann")

	// lag reads nothing while ann chats: its TCP buffers fill and the rest
	// waits in the server's queue (1024 frames by default: no 1013).
	text := func(i int) string { return fmt.Sprintf("%03d %s", i, strings.Repeat("y", 8<<10)) }
	for i := range total {
		ann.Say(text(i))
		if ev, u, m := newest(t, ann); ev != "messageWritten" || u != "ann" || m != text(i) {
			t.Fatalf("got %s %s: %.10q, want messageWritten ann: %.10q", ev, u, m, text(i))
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	// ann's queue is empty: her 1001 comes at once. Once she has it, the
	// server has begun closing every socket; then lag reads.
	ann.ExpectClose(websocket.StatusGoingAway)
	time.Sleep(100 * time.Millisecond)
	var got int
	for {
		ev, _, m, err := tryNewest(lag)
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
				t.Fatalf("lagging socket ended with %d (%v) after %d messages, want 1001", st, err, got)
			}
			break
		}
		switch ev {
		case "joined":
		case "messageWritten":
			if m != text(got) {
				t.Fatalf("lagging socket's message %d is %.10q, want %.10q", got, m, text(got))
			}
			got++
		default:
			t.Fatalf("lagging socket got %s", ev)
		}
	}
	if got != total {
		t.Fatalf("lagging socket got %d of %d messages before 1001", got, total)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestShutdownNotHeldUpByIdleConnection: a TCP connection that has not sent
// a request yet (a browser's preconnect) must not delay the sockets' 1001.
func TestShutdownNotHeldUpByIdleConnection(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	idle, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// Let the server accept it.
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")

	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.Stop() }()
	for _, c := range []*chattest.Client{ann, bob} {
		c.ExpectClose(websocket.StatusGoingAway)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the sockets got 1001 %v after the shutdown began", el)
	}
	idle.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
