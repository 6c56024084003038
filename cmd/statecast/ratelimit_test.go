package main

// End-to-end tests of the rate limits: a real server, real WebSocket
// clients, limits made small with the -rate flags.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// rlRead reads one frame without touching testing.T, for goroutines.
func rlRead(conn *websocket.Conn, d time.Duration) (event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var e event
	if typ != websocket.MessageText || json.Unmarshal(b, &e) != nil {
		return nil, fmt.Errorf("frame is not a JSON object: %.80q", b)
	}
	return e, nil
}

// rlNewest returns "username: message" of the newest message of a
// messageWritten.
func rlNewest(e event) string {
	list := e.list("messagesList")
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
	s := startServer(t, "-rate", "20", "-rate-burst", "20", "-grace", "100ms", "-fsync", "off")
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")
	flood, _ := s.join("/chat", "flood", "flood")

	// ann and bob read until each has every good message.
	var wg sync.WaitGroup
	got := make([][]string, 2)
	floodSeen := make([]int, 2)
	errs := make([]error, 2)
	for i, c := range []*client{ann, bob} {
		wg.Go(func() {
			for len(got[i]) < 2*each {
				e, err := rlRead(c.conn, 10*time.Second)
				if err != nil {
					errs[i] = fmt.Errorf("after %d good messages: %w", len(got[i]), err)
					return
				}
				switch e.str("event") {
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
				err := flood.conn.Write(ctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					return // closed
				}
			}
		})
		wg.Go(func() {
			for {
				e, err := rlRead(flood.conn, 10*time.Second)
				if err != nil {
					floodClose = websocket.CloseStatus(err)
					return
				}
				switch e.str("event") {
				case "joined", "disconnected", "messageWritten":
				case "error":
					if e.str("code") != "rate_limited" || e.str("ref") != "writeMessage" || e.str("message") == "" {
						floodErr = fmt.Errorf("flooder got %v, want a rate_limited error for writeMessage", e)
					}
					refused++
				default:
					floodErr = fmt.Errorf("flooder got %v", e)
				}
			}
		})
	}

	// ann and bob chat at 10 messages a second each, half of -rate: even if
	// the server stalls for 2s, the burst absorbs what piles up. The flood
	// starts while they do.
	for k := range each {
		ann.write(fmt.Sprint("ann ", k))
		bob.write(fmt.Sprint("bob ", k))
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

// rlDialFrom dials path from the local IP address local.
func (s *testServer) rlDialFrom(local, path string) (*client, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, s.url(path), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}},
	})
	if err != nil {
		return nil, err
	}
	s.t.Cleanup(func() { conn.CloseNow() })
	return &client{t: s.t, conn: conn}, nil
}

// The sockets of one address share its bucket, connecting included; the
// refusals leave them open; another address has a bucket of its own.
func TestRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	// No limit per socket; 6 events at once per address, then one every 5s.
	s := startServer(t, "-rate", "0", "-rate-per-address", "0.2", "-rate-address-burst", "6")
	a, _ := s.join("/chat", "a", "a") // 5 left
	b, _ := s.join("/chat", "b", "b") // 4 left
	a.expect("joined")
	for _, m := range []struct {
		c    *client
		text string
	}{{a, "a1"}, {b, "b1"}, {a, "a2"}, {b, "b2"}} { // 0 left
		m.c.write(m.text)
		for _, c := range []*client{a, b} {
			if e := c.expect("messageWritten"); rlNewest(e) != fmt.Sprintf("%s: %s", m.text[:1], m.text) {
				t.Fatalf("got %s, want %s's %s", rlNewest(e), m.text[:1], m.text)
			}
		}
	}
	a.write("a3")
	e := a.expectError("rate_limited", "writeMessage")
	if !strings.Contains(e.str("message"), "retry in") {
		t.Fatalf("rate_limited message %q does not say when to retry", e.str("message"))
	}
	b.write("b3")
	b.expectError("rate_limited", "writeMessage")
	c := s.dial("/chat")
	c.send(map[string]any{"event": "connecting", "id": "c", "username": "c"})
	c.expectError("rate_limited", "connecting")

	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to the loopback interface")
	}
	d, err := s.rlDialFrom("127.0.0.2", "/chat")
	if err != nil {
		t.Fatalf("dial from 127.0.0.2: %v", err)
	}
	d.send(map[string]any{"event": "connecting", "id": "d", "username": "d"})
	d.expect("connected")
	d.write("d1")
	if e := d.expect("messageWritten"); rlNewest(e) != "d: d1" {
		t.Fatalf("d got %s", rlNewest(e))
	}
	// a and b are still open: they see d arrive and speak.
	for _, c := range []*client{a, b} {
		c.expect("joined")
		if e := c.expect("messageWritten"); rlNewest(e) != "d: d1" {
			t.Fatalf("got %s, want d's d1", rlNewest(e))
		}
	}
}

// The rate flags: defaults, 0 for no limit, STATECAST_* variables, and
// values that cannot work refused before the server starts.
func TestRateLimitFlags(t *testing.T) {
	t.Parallel()
	c, err := parseServe(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.rateLimit; r.PerSession != 10 || r.SessionBurst != 20 || r.PerAddress != 50 || r.AddressBurst != 100 {
		t.Fatalf("defaults: %+v", r)
	}
	c, err = parseServe([]string{"-rate", "0", "-rate-address-burst", "7"}, []string{"STATECAST_RATE_PER_ADDRESS=2.5", "STATECAST_RATE=3"})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.rateLimit; r.PerSession != rate.Inf || r.PerAddress != 2.5 || r.AddressBurst != 7 {
		t.Fatalf("-rate 0 and variables: %+v", r)
	}
	for _, args := range [][]string{
		{"-rate", "-1"}, {"-rate", "NaN"}, {"-rate-per-address", "-0.5"},
		{"-rate-burst", "0"}, {"-rate-address-burst", "-1"},
	} {
		if _, err := parseServe(args, nil); err == nil {
			t.Errorf("parseServe(%q) accepted", args)
		}
	}
}
