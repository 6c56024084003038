package server_test

// End-to-end tests of Config.RateLimit: a real server, real WebSocket
// clients, limits made small.

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"golang.org/x/time/rate"
)

// rlRead reads one frame without touching testing.T, for goroutines.
func rlRead(conn *websocket.Conn, d time.Duration) (chattest.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("a binary frame: %.80q", b)
	}
	return chattest.ParseEvent(b)
}

// rlNewest returns "username: message" of the newest message of a
// messageWritten.
func rlNewest(e chattest.Event) string {
	list := e.List("messagesList")
	if len(list) == 0 {
		return ""
	}
	m, _ := list[len(list)-1].(map[string]any)
	return fmt.Sprintf("%v: %v", m["username"], m["message"])
}

// A client that floods writeMessage gets rate_limited errors, then is
// closed with 1008, while two others chat at a sane pace: every one of
// their messages reaches both, in order, and neither gets an error.
func TestRateLimitFloodClosesOnlyTheFlooder(t *testing.T) {
	t.Parallel()
	const each = 15
	s := chattest.Start(t, server.Config{
		RateLimit: middleware.RateLimitOptions{PerSession: 20, SessionBurst: 20},
		Grace:     100 * time.Millisecond,
		Fsync:     file.Off,
	})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")
	flood, _ := s.Join(t, "/chat", "flood", "flood")

	// ann and bob read until each has every good message.
	var wg sync.WaitGroup
	got := make([][]string, 2)
	floodSeen := make([]int, 2)
	errs := make([]error, 2)
	for i, c := range []*chattest.Client{ann, bob} {
		wg.Go(func() {
			for len(got[i]) < 2*each {
				e, err := rlRead(c.Conn(), 10*time.Second)
				if err != nil {
					errs[i] = fmt.Errorf("after %d good messages: %w", len(got[i]), err)
					return
				}
				switch e.Name() {
				case "joined", "disconnected":
				case "messageWritten":
					if m := rlNewest(e); strings.HasPrefix(m, "flood: ") {
						floodSeen[i]++
					} else {
						got[i] = append(got[i], m)
					}
				default:
					errs[i] = fmt.Errorf("unexpected %v", e)
					return
				}
			}
		})
	}

	// The flooder writes 500 frames as fast as it can (more than the server
	// lets through before it closes the socket; few enough for the socket
	// buffers, so that the writer never blocks the close handshake), and
	// reads everything the server sends it.
	var (
		refused    int
		floodErr   error
		floodClose websocket.StatusCode
	)
	startFlood := func() {
		wg.Go(func() {
			for i := range 500 {
				b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprint("spam ", i)})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := flood.Conn().Write(ctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					return // closed
				}
			}
		})
		wg.Go(func() {
			for {
				e, err := rlRead(flood.Conn(), 10*time.Second)
				if err != nil {
					floodClose = websocket.CloseStatus(err)
					return
				}
				switch e.Name() {
				case "joined", "disconnected", "messageWritten":
				case "error":
					if e.Str("code") != "rate_limited" || e.Str("ref") != "writeMessage" || e.Str("message") == "" {
						floodErr = fmt.Errorf("flooder got %v, want a rate_limited error for writeMessage", e)
					}
					refused++
				default:
					floodErr = fmt.Errorf("flooder got %v", e)
				}
			}
		})
	}

	// ann and bob chat at 10 messages a second each, half of the rate: even
	// if the server stalls for 2s, the burst absorbs what piles up. The
	// flood starts while they do.
	for k := range each {
		ann.Say(fmt.Sprint("ann ", k))
		bob.Say(fmt.Sprint("bob ", k))
		if k == 2 {
			startFlood()
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()

	for i, name := range []string{"ann", "bob"} {
		if errs[i] != nil {
			t.Fatalf("%s: %v", name, errs[i])
		}
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("ann and bob saw different orders:\n%q\n%q", got[0], got[1])
	}
	next := map[string]int{}
	for _, m := range got[0] {
		name, _, _ := strings.Cut(m, ":")
		if want := fmt.Sprintf("%s: %s %d", name, name, next[name]); m != want {
			t.Fatalf("got %q, want %q: a good message is missing or out of order in %q", m, want, got[0])
		}
		next[name]++
	}
	if floodErr != nil {
		t.Fatal(floodErr)
	}
	if floodClose != websocket.StatusPolicyViolation {
		t.Fatalf("flooder closed with %v, want 1008", floodClose)
	}
	// Its burst passed (ann and bob saw it), then 10 refusals were
	// tolerated and the 11th closed it.
	if floodSeen[0] != floodSeen[1] || floodSeen[0] < 20 || refused != 11 {
		t.Fatalf("flooder: ann and bob saw %v of its messages, it got %d refusals; want at least 20 each, and 11",
			floodSeen, refused)
	}
	t.Logf("flooder: %d messages passed, %d refused", floodSeen[0], refused)
}

// The sockets of one address share its bucket for writes, never for
// connecting (thousands may share an address); the refusals leave them
// open; another address has a bucket of its own.
func TestRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	// No limit per socket; 4 writes at once per address, then one every 5s.
	s := chattest.Start(t, server.Config{RateLimit: middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: 0.2, AddressBurst: 4}})
	a, _ := s.Join(t, "/chat", "a", "a") // connects take nothing: 4 left
	b, _ := s.Join(t, "/chat", "b", "b")
	a.Expect("joined")
	for _, m := range []struct {
		c    *chattest.Client
		text string
	}{{a, "a1"}, {b, "b1"}, {a, "a2"}, {b, "b2"}} { // 0 left
		m.c.Say(m.text)
		for _, c := range []*chattest.Client{a, b} {
			if e := c.Expect("messageWritten"); rlNewest(e) != fmt.Sprintf("%s: %s", m.text[:1], m.text) {
				t.Fatalf("got %s, want %s's %s", rlNewest(e), m.text[:1], m.text)
			}
		}
	}
	a.Say("a3")
	e := expectError(t, a, "rate_limited", "writeMessage")
	if !strings.Contains(e.Str("message"), "retry in") {
		t.Fatalf("rate_limited message %q does not say when to retry", e.Str("message"))
	}
	b.Say("b3")
	expectError(t, b, "rate_limited", "writeMessage")
	c := s.Dial(t, "/chat")
	c.Send(chattest.Connecting(map[string]any{"id": "c", "username": "c"}))
	c.Expect("connected")
	for _, o := range []*chattest.Client{a, b} {
		o.Expect("joined")
	}

	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to the loopback interface")
	}
	d := s.Dial(t, "/chat", fromIP("127.0.0.2"))
	d.Send(chattest.Connecting(map[string]any{"id": "d", "username": "d"}))
	d.Expect("connected")
	d.Say("d1")
	if e := d.Expect("messageWritten"); rlNewest(e) != "d: d1" {
		t.Fatalf("d got %s", rlNewest(e))
	}
	// a and b are still open: they see d arrive and speak.
	for _, c := range []*chattest.Client{a, b} {
		c.Expect("joined")
		if e := c.Expect("messageWritten"); rlNewest(e) != "d: d1" {
			t.Fatalf("got %s, want d's d1", rlNewest(e))
		}
	}
}
