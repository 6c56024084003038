package server_test

// Helpers of the end-to-end tests: checks of v1 frames read by a
// chattest.Client, and configurations the tests share.

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"golang.org/x/time/rate"
)

// unlimited turns both rate limits off, for tests whose clients write
// faster than people do.
var unlimited = middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf}

// expectError reads the next frame and fails unless it is an `error` with
// code, a non-empty message, and ref.
func expectError(t *testing.T, c *chattest.Client, code, ref string) chattest.Event {
	t.Helper()
	e := c.Expect("error")
	if got := e.Str("code"); got != code {
		t.Fatalf("error code = %q, want %q: %v", got, code, e)
	}
	if e.Str("message") == "" {
		t.Fatalf("error without a message: %v", e)
	}
	if got, ok := e["ref"].(string); !ok || got != ref {
		t.Fatalf("error ref = %v, want %q: %v", e["ref"], ref, e)
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

// chatMsg is one entry of a v1 messagesList.
type chatMsg = chattest.Message

// expectWritten reads the next frame, fails unless it is a messageWritten,
// and returns its messages, which must have a string username and message.
func expectWritten(t *testing.T, c *chattest.Client) []chatMsg {
	t.Helper()
	return c.Expect("messageWritten").Messages(t)
}

// expectMessage reads the next frame, which must be the messageWritten of
// message by username (its newest).
func expectMessage(t *testing.T, c *chattest.Client, username, message string) []chatMsg {
	t.Helper()
	msgs := expectWritten(t, c)
	if len(msgs) == 0 {
		t.Fatal("messageWritten without messages")
	}
	if m := msgs[len(msgs)-1]; m.Username != username || m.Message != message {
		t.Fatalf("newest message is %s: %.40q, want %s: %.40q", m.Username, m.Message, username, message)
	}
	return msgs
}

// wantUsers fails unless e's connectedUserList holds exactly the users of
// want (id → username), each id once.
func wantUsers(t *testing.T, e chattest.Event, want map[string]string) {
	t.Helper()
	var users []struct{ ID, Username string }
	e.Decode(t, "connectedUserList", &users)
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.ID] {
			t.Fatalf("connectedUserList lists id %q twice: %v", u.ID, e)
		}
		seen[u.ID] = true
		if w, ok := want[u.ID]; !ok || w != u.Username {
			t.Fatalf("connectedUserList has {%q, %q}, want exactly %v: %v", u.ID, u.Username, want, e)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("connectedUserList = %v, want exactly %v", e, want)
	}
}

// leave closes c's socket with a normal close handshake.
func leave(c *chattest.Client) { c.Conn().Close(websocket.StatusNormalClosure, "bye") }

// smallBuffer dials with a tiny TCP receive buffer, so that a client that
// stops reading fills the path to it quickly.
func smallBuffer() chattest.DialOption {
	return withDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return conn, err
	})
}

// fromIP dials from the local address ip.
func fromIP(ip string) chattest.DialOption {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return withDial(d.DialContext)
}

func withDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) chattest.DialOption {
	return func(o *websocket.DialOptions) {
		// No keep-alive: the connection becomes the socket.
		o.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	}
}
