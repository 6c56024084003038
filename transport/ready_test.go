package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// openTestServer runs a transport server on an in-memory store, without
// the server package's middleware.
func openTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, _ := openTestServerStore(t, cfg)
	return srv
}

func openTestServerStore(t *testing.T, cfg Config) (*Server, *store.Store[chat.State]) {
	t.Helper()
	st := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	t.Cleanup(func() { st.Close() })
	cfg.Addr = "127.0.0.1:0"
	srv, err := NewServer(cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv, st
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyz: /readyz is 200 while the server accepts sockets and its
// Ready check holds, else 503 with the reason; /healthz is 200 throughout.
func TestReadyz(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	srv := openTestServer(t, Config{Ready: func() error {
		if failing.Load() {
			return errors.New("storage failing: disk full")
		}
		return nil
	}})
	base := "http://" + srv.Addr().String()
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz = %d %q, want 200 ready", code, body)
	}
	failing.Store(true)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "disk full") {
		t.Fatalf("/readyz with a failing check = %d %q, want 503 with the reason", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d, want 200", code)
	}
	failing.Store(false)
	srv.ready.Store(false) // as Shutdown does first
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Fatalf("/readyz while shutting down = %d, want 503", code)
	}
}

// TestDisconnect: Disconnect closes every open socket with the code and
// reason given, and the server goes on accepting new ones.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	srv := openTestServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws://" + srv.Addr().String() + "/chat"
	join := func(id string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		hello, _ := json.Marshal(map[string]string{"event": "connecting", "id": id, "username": id})
		if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
			t.Fatal(err)
		}
		return c
	}
	conns := []*websocket.Conn{join("a"), join("b")}
	for _, c := range conns {
		if _, _, err := c.Read(ctx); err != nil { // connected
			t.Fatal(err)
		}
	}
	srv.Disconnect(websocket.StatusTryAgainLater, "node leaving")
	for i, c := range conns {
		var err error
		for err == nil {
			_, _, err = c.Read(ctx)
		}
		if websocket.CloseStatus(err) != websocket.StatusTryAgainLater || !strings.Contains(err.Error(), "node leaving") {
			t.Fatalf("socket %d ended with %v, want 1013 node leaving", i, err)
		}
	}
	c := join("c")
	if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), `"connected"`) {
		t.Fatalf("a socket after Disconnect: %s %v", b, err)
	}
}

// TestWireError: store errors reach the sender as the wire codes clients
// retry on, with a hint; rejections pass as they are; anything else is
// internal, without details.
func TestWireError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err   error
		code  string
		retry bool
	}{
		{fmt.Errorf("append: %w", store.ErrUnconfirmed), actions.CodeUnconfirmed, true},
		{fmt.Errorf("append: %w", store.ErrUnavailable), actions.CodeUnavailable, true},
		{&actions.Error{Code: actions.CodeRateLimited, Message: "slow down"}, actions.CodeRateLimited, false},
		{errors.New("disk on fire at /dev/vda"), actions.CodeInternal, false},
	}
	for _, tc := range tests {
		e := wireError(tc.err)
		if e.Code != tc.code || (e.RetryAfter > 0) != tc.retry || strings.Contains(e.Message, "/dev/") {
			t.Errorf("wireError(%v) = %+v, want code %s, retry hint %v", tc.err, e, tc.code, tc.retry)
		}
	}
}

// TestNopObserver: a Config without an Observer gets one that ignores
// every call.
func TestNopObserver(t *testing.T) {
	t.Parallel()
	o := Config{}.withDefaults().Observer
	o.SocketOpened()
	o.SocketClosed(1000, false)
	o.FrameRejected("invalid_json")
	o.HandshakeRefused("conns")
	if _, ok := o.(nopObserver); !ok {
		t.Fatalf("default observer %T, want nopObserver", o)
	}
}

// TestActionOfEveryRoom: an action of no room (node/down) reaches each
// room it changed: the users of a node that is gone leave every room at
// once, and the sockets of this node hear it.
func TestActionOfEveryRoom(t *testing.T) {
	t.Parallel()
	srv, st := openTestServerStore(t, Config{Node: "n1"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var observers []*websocket.Conn
	for _, room := range []string{"r1", "r2"} {
		c, _, err := websocket.Dial(ctx, "ws://"+srv.Addr().String()+"/chat/"+room, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		hello, _ := json.Marshal(map[string]string{"event": "connecting", "id": "obs", "username": "obs"})
		c.Write(ctx, websocket.MessageText, hello)
		c.Read(ctx) // connected
		observers = append(observers, c)
		// A user on node n2, in this room.
		for _, a := range []*actions.Action{
			{Type: actions.TypeOpenSession, Room: room, Session: "far-" + room, Payload: actions.Open{Node: "n2"}},
			{Type: actions.TypeConnect, Room: room, Session: "far-" + room, User: "far", Payload: actions.Connect{Username: "far"}},
		} {
			if err := st.Dispatch(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), `"joined"`) {
			t.Fatalf("%s: %s %v, want far joined", room, b, err)
		}
	}
	if err := st.Dispatch(ctx, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "n2"}}); err != nil {
		t.Fatal(err)
	}
	for i, c := range observers {
		if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), `"disconnected"`) || !strings.Contains(string(b), `"far"`) {
			t.Fatalf("room %d: %s %v, want far disconnected", i+1, b, err)
		}
	}
}
