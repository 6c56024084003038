package transport

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
)

// TestClosedWith: the code the server chose wins; else the library's 1009,
// the client's code, or 1006 when the connection just ended.
func TestClosedWith(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sent     websocket.StatusCode
		readErr  error
		code     int
		byServer bool
	}{
		{"server 1013", closeTryAgain, io.EOF, 1013, true},
		{"server 1001 over the client's 1000", closeGoingAway, websocket.CloseError{Code: closeNormal}, 1001, true},
		{"frame too big", stopWriting, fmt.Errorf("reading: %w", websocket.ErrMessageTooBig), 1009, true},
		{"client 1000", stopWriting, websocket.CloseError{Code: closeNormal}, 1000, false},
		{"client 1001", stopWriting, fmt.Errorf("x: %w", websocket.CloseError{Code: closeGoingAway}), 1001, false},
		{"no close frame", stopWriting, io.ErrUnexpectedEOF, 1006, false},
		{"server cancelled the read", stopWriting, context.Canceled, 1006, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &session{out: sender{closeCode: tc.sent}}
			if code, by := s.closedWith(tc.readErr); code != tc.code || by != tc.byServer {
				t.Fatalf("closedWith = %d, %v; want %d, %v", code, by, tc.code, tc.byServer)
			}
		})
	}
}

// TestStatsCountFrames: frames count as waiting from send until a writer
// takes them or a 1013 drops them with their socket.
func TestStatsCountFrames(t *testing.T) {
	t.Parallel()
	h := &Hub{}
	cfg := Config{SendQueue: 3}.withDefaults()
	// A writer is busy (writing): queued frames wait until it takes them.
	nop := zerolog.Nop()
	s := &sender{cfg: &cfg, stats: &h.stats, writing: true, log: nop.WithLevel}
	want := func(queued, waiting, drops uint64) {
		t.Helper()
		if got := h.Stats(); got != (Stats{FramesQueued: queued, FramesWaiting: waiting, SlowDrops: drops}) {
			t.Fatalf("Stats = %+v, want queued %d, waiting %d, drops %d", got, queued, waiting, drops)
		}
	}
	s.send([]byte("a"))
	s.send([]byte("b"))
	want(2, 2, 0)
	s.mu.Lock()
	s.takeQueue() // as the writer does
	s.mu.Unlock()
	want(2, 0, 0)
	for range 3 {
		s.send([]byte("c"))
	}
	want(5, 3, 0)
	s.send([]byte("d")) // the fourth overflows: 1013, the queue is dropped
	s.send([]byte("e")) // refused: the socket is closing
	want(5, 0, 1)
}
