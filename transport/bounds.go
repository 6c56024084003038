package transport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statecast/statecast/store/chat"
)

// Bounds are the transport's counts of what its bounds hold and refuse,
// read without locks.
type Bounds struct {
	// Rooms is how many rooms the state holds: rooms are never removed
	// from it, so Config.MaxRooms caps it.
	Rooms int64
	// RoomFeeds is how many rooms the hub keeps encoded frames and recent
	// changes for; a room with no socket for Config.IdleRoom loses its
	// feed (see Config.IdleRoom).
	RoomFeeds int64
	// RoomFeedsDropped counts the feeds dropped for being idle.
	RoomFeedsDropped uint64
	// ConnectTimeouts counts the sockets closed with 1008 because they
	// sent no `connecting` within Config.ConnectTimeout.
	ConnectTimeouts uint64
	// HandshakeTimeouts counts the connections closed because they sent
	// no complete request within Config.HandshakeTimeout.
	HandshakeTimeouts uint64
}

// boundStats are the counters behind Bounds.
type boundStats struct {
	rooms, feeds                                     atomic.Int64
	feedsDropped, connectTimeouts, handshakeTimeouts atomic.Uint64
}

// Bounds returns the server's counts of what its bounds hold and refuse.
func (s *Server) Bounds() Bounds {
	b := &s.hub.bounds
	return Bounds{Rooms: b.rooms.Load(), RoomFeeds: b.feeds.Load(), RoomFeedsDropped: b.feedsDropped.Load(),
		ConnectTimeouts: b.connectTimeouts.Load(), HandshakeTimeouts: b.handshakeTimeouts.Load()}
}

// roomGate refuses upgrades to a room the state does not hold yet once
// the state holds Config.MaxRooms rooms. Rooms that exist stay reachable.
// An upgrade that creates a room counts as pending from its admission
// until its socket's open is applied (or it ends), so that concurrent
// upgrades to new rooms cannot pass the cap together.
type roomGate struct {
	max   int
	rooms *atomic.Int64 // rooms in the state, kept by the hub
	state func() chat.State

	mu      sync.Mutex
	pending map[string]int // room -> upgrades creating it, not yet applied
}

func newRoomGate(max int, h *Hub) *roomGate {
	return &roomGate{max: max, rooms: &h.bounds.rooms, state: h.store.GetState, pending: map[string]int{}}
}

// enter reports whether a socket may open in room. On true, the caller
// must call leave once the socket's open was applied or it ended; leave
// may be called more than once.
func (g *roomGate) enter(room string) (leave func(), ok bool) {
	st := g.state()
	if st.Room(room) != nil {
		return func() {}, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := int(g.rooms.Load())
	for name := range g.pending {
		if name != room && st.Room(name) == nil {
			n++
		}
	}
	if g.pending[room] == 0 && n >= g.max {
		return nil, false
	}
	g.pending[room]++
	var once sync.Once
	return func() { once.Do(func() { g.release(room) }) }, true
}

func (g *roomGate) release(room string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending[room]--; g.pending[room] <= 0 {
		delete(g.pending, room)
	}
}

// roomsRefusal is the body of the 403 an upgrade to a new room gets once
// the server holds Config.MaxRooms rooms.
func roomsRefusal(max int) string {
	return fmt.Sprintf("the server holds as many rooms as it may (%d): this room does not exist and cannot be created", max)
}

// handshakeWatch counts the connections that ended before a request of
// theirs reached the handler, after at least the handshake timeout: the
// ones the HTTP server closed for taking too long. It hooks into the
// http.Server (ConnState, ConnContext) and wraps its handler.
type handshakeWatch struct {
	timeout time.Duration
	count   *atomic.Uint64

	mu    sync.Mutex
	fresh map[net.Conn]time.Time // connections with no request handled yet
}

// connKey is the context key of a request's connection, for handshakeWatch.
type connKey struct{}

func newHandshakeWatch(timeout time.Duration, count *atomic.Uint64) *handshakeWatch {
	return &handshakeWatch{timeout: timeout, count: count, fresh: map[net.Conn]time.Time{}}
}

// install sets the hooks on srv and wraps its handler.
func (w *handshakeWatch) install(srv *http.Server) {
	srv.ConnState = w.connState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	next := srv.Handler
	srv.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			w.forget(c)
		}
		next.ServeHTTP(rw, r)
	})
}

func (w *handshakeWatch) forget(c net.Conn) {
	w.mu.Lock()
	delete(w.fresh, c)
	w.mu.Unlock()
}

func (w *handshakeWatch) connState(c net.Conn, st http.ConnState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch st {
	case http.StateNew:
		w.fresh[c] = time.Now()
	case http.StateClosed, http.StateHijacked:
		if since, ok := w.fresh[c]; ok && st == http.StateClosed && time.Since(since) >= w.timeout {
			w.count.Add(1)
		}
		delete(w.fresh, c)
	}
}

// connectTimer closes s with 1008 unless a `connecting` frame arrives
// within Config.ConnectTimeout. Stop it when the session ends.
func (s *session) connectTimer() *time.Timer {
	return time.AfterFunc(s.cfg.ConnectTimeout, func() {
		if s.sentConnecting.Load() || s.ctx.Err() != nil {
			return
		}
		s.hub.bounds.connectTimeouts.Add(1)
		s.out.closeWith(closePolicy, fmt.Sprintf("no connecting within %v", s.cfg.ConnectTimeout))
	})
}

// sweepFeeds drops the feeds of rooms that had no socket for
// Config.IdleRoom: their encoded messages and recent changes leave
// memory; the room's history stays in the state and the log, and a later
// socket gets a feed rebuilt from the state (a resume from before that
// gets a snapshot). It runs in the apply loop, at most every IdleRoom/4.
func (h *Hub) sweepFeeds(now time.Time) {
	if now.Before(h.nextSweep) {
		return
	}
	h.nextSweep = now.Add(h.cfg.IdleRoom / 4)
	for name, f := range h.rooms {
		if f.idle(now) >= h.cfg.IdleRoom {
			delete(h.rooms, name)
			h.bounds.feedsDropped.Add(1)
		}
	}
	h.bounds.feeds.Store(int64(len(h.rooms)))
}

// connects reports whether a socket connects in one of steps: a room
// with no feed needs one only then.
func connects(steps []chat.RoomDiff) bool {
	for _, d := range steps {
		if d.Connected != nil {
			return true
		}
	}
	return false
}

// markIdle records, after a change to the feed, since when it has had no
// socket (zero while it has one).
func (f *roomFeed) markIdle(now time.Time) {
	switch {
	case len(f.v1)+len(f.v2) > 0:
		f.idleSince = time.Time{}
	case f.idleSince.IsZero():
		f.idleSince = now
	}
}

// idle returns how long the feed has had no socket, as of now.
func (f *roomFeed) idle(now time.Time) time.Duration {
	if f.idleSince.IsZero() {
		return 0
	}
	return now.Sub(f.idleSince)
}
