package transport_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// panickyObserver panics when told of a rejected frame with code.
type panickyObserver struct{ code string }

func (panickyObserver) SocketOpened()           {}
func (panickyObserver) SocketClosed(int, bool)  {}
func (panickyObserver) HandshakeRefused(string) {}
func (o panickyObserver) FrameRejected(code string) {
	if code == o.code {
		panic("the observer broke on " + code)
	}
}

// logLines is a log writer safe for concurrent use.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSocketPanic: a panic while a socket is served ends that socket, not
// the process: an error line says so, the socket's close is recorded as
// for any other (its user leaves after the grace period), and the room
// goes on for everyone else.
func TestSocketPanic(t *testing.T) {
	t.Parallel()
	var logs logLines
	s := chattest.Start(t, server.Config{
		Grace:          50 * time.Millisecond,
		DisableMetrics: true,
		Logger:         zerolog.New(&logs),
		Transport:      transport.Config{Observer: panickyObserver{code: actions.CodeInvalidJSON}},
	})
	const room = "/chat/panic"
	ann, _ := s.Join(t, room, "ann", "ann")
	bob, _ := s.Join(t, room, "bob", "bob")
	expectPresence(t, ann, "joined", "bob", "bob")

	bob.SendRaw(websocket.MessageText, []byte("not json"))
	bob.ExpectClose(-1)
	expectPresence(t, ann, "disconnected", "bob", "bob")
	if _, ok := s.Store().GetState().Room("panic").Presence("bob"); ok {
		t.Fatal("bob is still listed after his socket panicked")
	}
	if l := logs.String(); !strings.Contains(l, "socket panicked") || !strings.Contains(l, "the observer broke") {
		t.Fatalf("no error line for the panic:\n%s", l)
	}
	ann.Say("still here")
	expectMessage(t, ann, "ann", "still here")
}
