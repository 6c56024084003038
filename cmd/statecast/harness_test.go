package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/server"
)

// testServer is a statecast started in-process through serve, on a
// loopback port.
type testServer struct {
	t    *testing.T
	addr string
	srv  *server.Server // the running server, for tests that look at its store
	stop func() error
}

// startServer runs `statecast serve` with args (plus -addr 127.0.0.1:0 and
// quiet logs) and stops it when the test ends.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server.Server, 1)
	done := make(chan error, 1)
	all := append([]string{"-addr", "127.0.0.1:0", "-log-level", "error", "-log-format", "json", "-data", t.TempDir()}, args...)
	go func() { done <- serveServer(ctx, all, nil, func(s *server.Server) { ready <- s }) }()
	var srv *server.Server
	select {
	case srv = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start within 10s")
	}
	stopped := false
	var stopErr error
	ts := &testServer{t: t, addr: srv.Addr().String(), srv: srv}
	ts.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	t.Cleanup(func() { ts.stop() })
	return ts
}

// url returns the ws:// URL of path on the server.
func (s *testServer) url(path string) string { return "ws://" + s.addr + path }

// client is a real WebSocket client of the test server.
type client struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial opens a socket to path (for example "/chat").
func (s *testServer) dial(path string) *client {
	s.t.Helper()
	c, err := s.dialHeader(path, nil)
	if err != nil {
		s.t.Fatalf("dial %s: %v", path, err)
	}
	return c
}

func (s *testServer) dialHeader(path string, h http.Header) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, s.url(path), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	c := &client{t: s.t, conn: conn}
	s.t.Cleanup(func() { conn.CloseNow() })
	return c, nil
}

// join dials path and sends connecting with id and username, and returns
// the client with the `connected` reply.
func (s *testServer) join(path, id, username string) (*client, event) {
	s.t.Helper()
	c := s.dial(path)
	c.send(map[string]any{"event": "connecting", "id": id, "username": username})
	return c, c.expect("connected")
}

// event is one decoded server frame.
type event map[string]any

func (e event) str(k string) string { s, _ := e[k].(string); return s }

func (e event) list(k string) []any { l, _ := e[k].([]any); return l }

// send writes v as one JSON text frame.
func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.MessageText, b)
}

func (c *client) sendRaw(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads the next frame within d; every frame must be a JSON object
// with a string event.
func (c *client) next(d time.Duration) (event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("server sent a binary frame")
	}
	var e event
	if err := json.Unmarshal(b, &e); err != nil {
		c.t.Fatalf("server sent a frame that is not a JSON object: %q", b)
	}
	if _, ok := e["event"].(string); !ok {
		c.t.Fatalf("server frame without a string event: %q", b)
	}
	return e, nil
}

// expect reads the next frame and fails unless it is the named event.
func (c *client) expect(name string) event {
	c.t.Helper()
	e, err := c.next(5 * time.Second)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", name, err)
	}
	if e.str("event") != name {
		c.t.Fatalf("got %v, want event %s", e, name)
	}
	return e
}

// quiet fails if any frame arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	e, err := c.next(d)
	if err == nil {
		c.t.Fatalf("expected no frame, got %v", e)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		c.t.Fatalf("expected no frame, socket ended: %v", err)
	}
}

// closeStatus reads until the socket ends and returns its close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.next(5 * time.Second)
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
