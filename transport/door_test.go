package transport_test

// Admission at the door: many users behind one address, handshake caps
// and budgets refused with 503 and Retry-After, and forwarding headers
// believed from trusted proxies only.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestThousandBehindOneAddress: at default settings, 1,000 clients from one
// address (a school behind one NAT, reconnecting at once after a restart)
// all get `connected`, without a single retry.
func TestThousandBehindOneAddress(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	const clients, rooms = 1000, 10
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- connectOnce(ctx, t, s.URL(fmt.Sprintf("/chat/school%d", i%rooms)), fmt.Sprint("pupil", i))
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d clients were not connected", failed, clients)
	}
	t.Logf("%d clients from one address connected in %v", clients, time.Since(start).Round(time.Millisecond))
}

// connectOnce dials url, sends connecting as id and reads until
// `connected`, the way a seed client does: no retry.
func connectOnce(ctx context.Context, t *testing.T, url, id string) error {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return fmt.Errorf("%s: dial: %w", id, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	hello, _ := json.Marshal(map[string]string{"event": "connecting", "id": id, "username": id})
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("%s: waiting for connected: %w", id, err)
	}
	var e struct{ Event, Code string }
	if json.Unmarshal(b, &e); e.Event != "connected" {
		return fmt.Errorf("%s: got %s, want connected", id, b)
	}
	return nil
}

// refusedWith503 dials and fails unless the upgrade is refused with 503
// and a Retry-After of at least one second.
func refusedWith503(t *testing.T, url string, opts ...chattest.DialOption) {
	t.Helper()
	c, resp, err := chattest.DialURL(t, url, opts...)
	if err == nil {
		c.CloseNow()
		t.Fatalf("dial %s: accepted, want 503", url)
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial %s: %v (%v), want 503", url, err, resp)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("503 with Retry-After %q, want whole seconds", ra)
	}
}

// TestConnectionCapsRefuseAtTheDoor: beyond the caps, the upgrade is
// refused with 503 and Retry-After, counted in the metrics; the sockets
// already open are untouched, and a closed one frees its place.
func TestConnectionCapsRefuseAtTheDoor(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Transport: transport.Config{MaxConnsPerAddress: 2}})
	a, _ := s.Join(t, "/chat", "a", "a")
	b, _ := s.Join(t, "/chat", "b", "b")
	refusedWith503(t, s.URL("/chat"))
	if got := s.Metric(t, `statecast_handshakes_refused_total{why="address"}`); got != 1 {
		t.Fatalf("refusals counted: %v, want 1", got)
	}
	a.Expect("joined") // b's
	b.Close()
	a.Expect("disconnected")
	deadline := time.Now().Add(chattest.Timeout)
	for {
		c, _, err := chattest.DialURL(t, s.URL("/chat"))
		if err == nil {
			c.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's place was never freed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	total := chattest.Start(t, server.Config{Transport: transport.Config{MaxConns: 1}})
	total.Join(t, "/chat", "a", "a")
	refusedWith503(t, total.URL("/chat"))
	if got := total.Metric(t, `statecast_handshakes_refused_total{why="conns"}`); got != 1 {
		t.Fatalf("refusals counted: %v, want 1", got)
	}
}

// TestHandshakeBudgetWaitsThenRefuses: handshakes over an address's budget
// wait their turn and are all accepted; beyond the wait, 503.
func TestHandshakeBudgetWaitsThenRefuses(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Transport: transport.Config{HandshakeRate: 20, HandshakeBurst: 1, HandshakeWait: 2 * time.Second}})
	start := time.Now()
	for i := range 5 { // the four after the first wait 50ms each
		s.Join(t, "/chat", fmt.Sprint("u", i), "u")
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("5 handshakes at 20/s with a burst of 1 took %v", took)
	}
	slow := chattest.Start(t, server.Config{Transport: transport.Config{HandshakeRate: 0.1, HandshakeBurst: 1, HandshakeWait: 100 * time.Millisecond}})
	slow.Join(t, "/chat", "a", "a")
	refusedWith503(t, slow.URL("/chat"))
}

// TestForwardedHeaders: behind a trusted proxy the client's address comes
// from X-Forwarded-For (each user has a place of its own under the cap per
// address), and the origin check uses the scheme and host the browser
// used; from anyone else the same headers change nothing.
func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	from := func(client string) chattest.DialOption {
		return chattest.WithHeader(http.Header{"X-Forwarded-For": {client}})
	}
	direct := chattest.Start(t, server.Config{Transport: transport.Config{MaxConnsPerAddress: 1}})
	direct.Dial(t, "/chat", from("198.51.100.1"))
	refusedWith503(t, direct.URL("/chat"), from("198.51.100.2")) // spoofed: still 127.0.0.1

	proxied := chattest.Start(t, server.Config{Transport: transport.Config{MaxConnsPerAddress: 1,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	proxied.Dial(t, "/chat", from("198.51.100.1"))
	proxied.Dial(t, "/chat", from("198.51.100.2"))
	refusedWith503(t, proxied.URL("/chat"), from("198.51.100.2, 127.0.0.9"))

	// A browser on https://chat.example.com, through a TLS-terminating
	// proxy that forwards to the server's plain address.
	browser := http.Header{"Origin": {"https://chat.example.com"}, "X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host": {"chat.example.com"}, "X-Forwarded-For": {"198.51.100.3"}}
	proxied.Dial(t, "/chat", chattest.WithHeader(browser))
	_, resp, err := chattest.DialURL(t, direct.URL("/chat"), chattest.WithHeader(browser))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forwarded origin from an untrusted peer: %v (%v), want 403", err, resp)
	}
}
