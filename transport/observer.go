package transport

import (
	"errors"
	"sync/atomic"

	"github.com/coder/websocket"
)

// Observer is told about the sockets' lives, for metrics. Its methods are
// called from the sessions' goroutines, concurrently, never from the hub's
// fan-out loop; they must return quickly and must not block. The package
// knows no metrics library: package server implements Observer with
// Prometheus.
//
// What happens per frame sent to a socket is counted in Stats instead,
// with atomic counters that cost the fan-out loop nothing else.
type Observer interface {
	// SocketOpened is called when a socket is accepted into a room.
	SocketOpened()
	// SocketClosed is called once for every socket SocketOpened reported,
	// when its session has ended. code is the close code: the one the
	// server sent (byServer), else the one the client sent, else 1006
	// (abnormal closure) when the connection ended without a close frame.
	SocketClosed(code int, byServer bool)
	// FrameRejected is called for every error frame sent to a client,
	// with its code: a frame the decoder refused, or an action the
	// middleware chain rejected.
	FrameRejected(code string)
	// HandshakeRefused is called for every upgrade refused at the door
	// with 503, with why: "conns" (the total cap), "address" (the cap per
	// client address) or "handshakes" (the address's handshake budget).
	HandshakeRefused(why string)
}

// nopObserver is the Observer of a Config that sets none.
type nopObserver struct{}

func (nopObserver) SocketOpened()           {}
func (nopObserver) SocketClosed(int, bool)  {}
func (nopObserver) FrameRejected(string)    {}
func (nopObserver) HandshakeRefused(string) {}

// Stats are the transport's running totals of frames, read without locks.
type Stats struct {
	// FramesQueued counts every frame ever queued for a socket: one per
	// recipient of each event.
	FramesQueued uint64
	// FramesWaiting is how many frames wait in all the send queues now,
	// not yet taken by their socket's writer.
	FramesWaiting uint64
	// SlowDrops counts the sockets closed with 1013 because their send
	// queue was full.
	SlowDrops uint64
}

// queueStats are the hub's counters behind Stats. queued is written by
// the fan-out loop, left by the writers: they sit on separate cache lines.
type queueStats struct {
	queued atomic.Uint64 // frames ever queued
	_      [56]byte
	left   atomic.Uint64 // frames that left a queue: taken by a writer or dropped
	drops  atomic.Uint64
}

// Stats returns the hub's running totals.
func (h *Hub) Stats() Stats {
	// left first: a frame is counted in queued before a writer can take it,
	// so queued read later is never below left.
	left := h.stats.left.Load()
	queued := h.stats.queued.Load()
	return Stats{FramesQueued: queued, FramesWaiting: queued - left, SlowDrops: h.stats.drops.Load()}
}

// Stats returns the server's running totals of frames.
func (s *Server) Stats() Stats { return s.hub.Stats() }

// closedWith returns the close code of the ended session, and whether the
// server chose it, for Observer.SocketClosed. readErr is the error that
// ended the reader, if it ended on one.
func (s *session) closedWith(readErr error) (code int, byServer bool) {
	sent := s.out.closedCode()
	switch {
	case sent > 0:
		return int(sent), true
	case errors.Is(readErr, websocket.ErrMessageTooBig):
		return int(closeTooBig), true // the library closed it
	case websocket.CloseStatus(readErr) > 0:
		return int(websocket.CloseStatus(readErr)), false
	}
	return int(websocket.StatusAbnormalClosure), false
}
