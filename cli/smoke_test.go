package cli

// Smoke tests of the whole command: Run as main calls it, a real client,
// shutdown when the context ends (as on SIGTERM).

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// running is a server started by Run.
type running struct {
	*chattest.Server
	cancel context.CancelFunc
	done   chan error
}

// runServe calls Run with args and env in the background and returns once
// the server it started accepts connections. Tests that use it must not be
// parallel: it sets testHookServing.
func runServe(t *testing.T, args, env []string) *running {
	t.Helper()
	started := make(chan *server.Server, 1)
	testHookServing = func(s *server.Server) { started <- s }
	t.Cleanup(func() { testHookServing = nil })
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, args, env) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case s := <-started:
		r.Server = &chattest.Server{Server: s}
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Run %q: %v", args, err)
	case <-time.After(chattest.Timeout):
		t.Fatalf("Run %q: not serving within %v", args, chattest.Timeout)
	}
	return r
}

// stop ends Run's context, as SIGTERM does, and returns Run's result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(chattest.Timeout):
		t.Fatalf("Run did not return within %v of the end of its context", chattest.Timeout)
		return nil
	}
}

// TestSmokeChat: `statecast serve` with flags serves v1 clients: the second
// user joins the first, a message carries the name its user connected
// with. When the context ends the sockets close with 1001 and Run returns
// nil; run again on the same data, the server still holds the message.
func TestSmokeChat(t *testing.T) {
	args := []string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "error"}
	s := runServe(t, args, nil)
	ann, hello := s.Join(t, "/chat", "1", "ann")
	if got := len(hello.List("connectedUserList")); got != 1 {
		t.Fatalf("connectedUserList has %d users, want 1: %v", got, hello)
	}
	bob, _ := s.Join(t, "/chat", "2", "bob")
	if j := ann.Expect("joined"); j.Str("id") != "2" || j.Str("username") != "bob" {
		t.Fatalf("joined = %v", j)
	}
	bob.Send(map[string]any{"event": "writeMessage", "message": "hi", "username": "mallory"})
	for _, c := range []*chattest.Client{ann, bob} {
		w := c.Expect("messageWritten")
		msgs := w.List("messagesList")
		if len(msgs) != 1 || msgs[0].(map[string]any)["username"] != "bob" {
			t.Fatalf("messageWritten = %v", w)
		}
	}

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop(t) }()
	ann.ExpectClose(websocket.StatusGoingAway)
	bob.ExpectClose(websocket.StatusGoingAway)
	if err := <-stopped; err != nil {
		t.Fatalf("Run after its context ended: %v", err)
	}

	again := runServe(t, args, nil)
	_, hello = again.Join(t, "/chat", "1", "ann")
	if msgs := hello.List("messagesList"); len(msgs) != 1 || msgs[0].(map[string]any)["message"] != "hi" {
		t.Fatalf("after a restart on the same data, connected = %v, want bob's hi", hello)
	}
}

// TestSmokeEnvironment: with no arguments Run serves, configured by
// STATECAST_* variables alone; here the secret comes from a file, whose
// trailing newline is not part of it, and the id and name from the token.
func TestSmokeEnvironment(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := runServe(t, nil, []string{
		"STATECAST_ADDR=127.0.0.1:0", "STATECAST_DATA=" + t.TempDir(), "STATECAST_LOG_LEVEL=error",
		"STATECAST_AUTH_SECRET_FILE=" + secretFile,
	})
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "u-ann", "name": "Ann", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Dial(t, "/chat")
	c.Send(chattest.Connecting(map[string]any{"id": "client-chosen", "username": "mallory", "token": token}))
	if e := c.Expect("connected"); e.Str("id") != "u-ann" || e.Str("username") != "Ann" || e.Str("name") != "Ann" {
		t.Fatalf("connected = %v, want id u-ann and name Ann from the token", e)
	}
	// Without a token the server refuses: the secret is in force.
	eve := s.Dial(t, "/chat")
	eve.Send(chattest.Connecting(map[string]any{"id": "u-eve", "username": "eve"}))
	if e := eve.Expect("error"); e.Str("code") != "token_missing" {
		t.Fatalf("connecting without a token: %v, want token_missing", e)
	}
}

// TestRunCommands: an unknown command is refused with the usage; help
// prints it and succeeds.
func TestRunCommands(t *testing.T) {
	err := Run(context.Background(), []string{"frobnicate"}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) || !strings.Contains(err.Error(), "usage:") {
		t.Fatalf("Run frobnicate: %v, want an unknown command error with the usage", err)
	}
	if err := Run(context.Background(), []string{"help"}, nil); err != nil {
		t.Fatalf("Run help: %v", err)
	}
}
