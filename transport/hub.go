package transport

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// Hub is the subscriber layer: it receives every Change from the store,
// diffs the room it touched, encodes each resulting event once and queues the
// same bytes on every connected socket of the room.
//
// Sessions register with the hub when their socket is accepted; only sockets
// the state shows as connected receive room events.
type Hub struct {
	store *store.Store[chat.State]
	cfg   Config
	log   zerolog.Logger

	mu       sync.Mutex // guards sessions, closing
	sessions map[string]*session
	closing  bool
	wg       sync.WaitGroup // one per registered session

	// Owned by the store's apply loop (the subscriber); no lock.
	rooms     map[string]*roomFeed
	nextSweep time.Time // of idle feeds; see sweepFeeds

	stats  queueStats // atomic; see Stats
	bounds boundStats // atomic; see Bounds
}

// roomFeed is the hub's view of one room: its connected sockets by
// dialect, the retained messages already encoded for each dialect (oldest
// first), and the
// room's recent changes as v2 operations, for resuming clients.
type roomFeed struct {
	v1, v2      map[string]*session
	messages    [][]byte     // as v2 states carry them (EncodeMessage)
	v1list      v1Window     // as v1's messagesList carries them (EncodeMessageV1), within V1FrameBytes
	users       userList     // the room's user list, for greeting new sockets
	recent      []roomChange // oldest first from head: at most window changes, windowBytes bytes
	head        int
	recentBytes int
	window      int
	windowBytes int
	// forgotten is a seq at or before which changes may be missing from
	// recent: a resume from before it gets a snapshot.
	forgotten uint64
	// idleSince is when the room's last socket left (zero while it has
	// one); see sweepFeeds.
	idleSince time.Time
}

// roomChange is one change of a room as v2 operations.
type roomChange struct {
	seq  uint64
	ops  [][]byte
	size int // bytes of ops
}

// newRoomFeed starts the feed of a room the hub has not seen yet, with the
// messages the state already held (a state recovered from a log). The
// changes up to seq are unknown to it.
func newRoomFeed(r *chat.Room, seq uint64, cfg Config) *roomFeed {
	f := &roomFeed{v1: map[string]*session{}, v2: map[string]*session{}, v1list: newV1Window(cfg.V1FrameBytes),
		window: cfg.ResumeWindow, windowBytes: cfg.ResumeBytes, forgotten: seq}
	if r != nil {
		f.users = newUserList(r.UserList())
	}
	for i := 0; r != nil && i < r.MessageCount(); i++ {
		f.messages = append(f.messages, actions.EncodeMessage(r.Message(i)))
		f.v1list.push(actions.EncodeMessageV1(r.Message(i)))
	}
	return f
}

// NewHub returns a hub that subscribes to s until Shutdown.
func NewHub(s *store.Store[chat.State], cfg Config, log zerolog.Logger) *Hub {
	h := &Hub{
		store:    s,
		cfg:      cfg.withDefaults(),
		log:      log,
		sessions: map[string]*session{},
		rooms:    map[string]*roomFeed{},
	}
	h.bounds.rooms.Store(int64(len(s.GetState().RoomNames())))
	s.Subscribe(h.onChange)
	return h
}

// register adds a session; it fails once the hub is shutting down.
func (h *Hub) register(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.sessions[s.id] = s
	h.wg.Add(1)
	return true
}

func (h *Hub) unregister(s *session) {
	h.mu.Lock()
	delete(h.sessions, s.id)
	h.mu.Unlock()
	h.wg.Done()
}

func (h *Hub) lookup(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[id]
}

// Shutdown closes every socket with 1001 after the frames already queued
// for it, and waits until every session has ended and recorded its close.
// When ctx ends first, the remaining sockets are dropped at once.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	open := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		open = append(open, s)
	}
	h.mu.Unlock()
	for _, s := range open {
		s.out.closeWith(closeGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range open {
			s.cancel()
		}
		<-done
		return ctx.Err()
	}
}

// Disconnect closes every socket with code and reason, after the frames
// already queued for it; unlike Shutdown, new sockets are still accepted.
func (h *Hub) Disconnect(code websocket.StatusCode, reason string) {
	h.mu.Lock()
	open := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		open = append(open, s)
	}
	h.mu.Unlock()
	for _, s := range open {
		s.out.closeWith(code, reason)
	}
}

// onChange runs in the store's apply loop for every applied action. It
// derives each touched room's events from the difference between the two
// states, encodes each once per dialect, and queues the same bytes on
// every socket.
func (h *Hub) onChange(c store.Change[chat.State]) {
	defer h.sweepFeeds(time.Now())
	if room := c.Action.Room; room != "" {
		if c.Prev.Room(room) == nil && c.Next.Room(room) != nil {
			h.bounds.rooms.Add(1)
		}
		if d := chat.Diff(c.Prev, c.Next, c.Action); !d.Empty() {
			h.roomChanged(c, []chat.RoomDiff{d})
		}
		return
	}
	// An action of every room (server/start, node/down): its steps come
	// room by room, each room's adjacent.
	steps := chat.Diffs(c.Prev, c.Next, c.Action)
	for i := 0; i < len(steps); {
		j := i + 1
		for j < len(steps) && steps[j].Next.Name() == steps[i].Next.Name() {
			j++
		}
		h.roomChanged(c, steps[i:j])
		i = j
	}
}

// roomChanged sends one room's change: steps, applied in order, lead from
// the room before the action to the room after it (one step for an action
// of the room itself). v1 gets events per step; v2 one patch of every
// step's operations.
func (h *Hub) roomChanged(c store.Change[chat.State], steps []chat.RoomDiff) {
	name := steps[0].Next.Name()
	feed := h.rooms[name]
	if feed == nil && !connects(steps) {
		return // no socket to tell; a later one gets the feed built from the state
	}
	if feed == nil {
		feed = newRoomFeed(steps[0].Prev, c.Seq-1, h.cfg)
		h.rooms[name] = feed
		h.bounds.feeds.Store(int64(len(h.rooms)))
	}
	defer feed.markIdle(time.Now())
	var ops [][]byte
	encoded := make([][][]byte, len(steps))
	presence := true // the change touches the user list alone
	for i, d := range steps {
		presence = presence && len(d.Appended) == 0 && d.Dropped == 0
		encoded[i] = make([][]byte, len(d.Appended))
		for j, m := range d.Appended {
			encoded[i][j] = actions.EncodeMessage(m)
		}
		ops = append(ops, patchOps(d, encoded[i])...)
	}
	feed.remember(c.Seq, ops)

	except := ""
	for i, d := range steps {
		if d.Left != nil {
			feed.users.leave(d.Left.ID)
			feed.broadcastV1(actions.EncodePresence(actions.EventDisconnected, *d.Left), "", true)
		}
		if d.Entered != nil {
			feed.users.enter(*d.Entered)
		}
		if d.Dropped > 0 {
			feed.messages = feed.messages[min(d.Dropped, len(feed.messages)):]
			feed.v1list.drop(d.Dropped)
		}
		if d.Connected != nil {
			except = d.Connected.ID
			h.connected(feed, c, d)
		}
		if d.Closed != nil {
			delete(feed.v1, d.Closed.ID)
			delete(feed.v2, d.Closed.ID)
		}
		for j, m := range encoded[i] {
			feed.messages = append(feed.messages, m)
			feed.v1list.push(actions.EncodeMessageV1(d.Appended[j]))
			if len(feed.v1) > 0 {
				feed.broadcastV1(actions.EncodeMessageWritten(feed.v1list.list()), "", false)
			}
		}
	}
	if len(ops) > 0 {
		// The author waits for its change: its writer starts first.
		author := c.Action.Session
		if s := feed.v2[author]; s != nil && author != except {
			s.out.sendPatch(c.Seq, ops, true, presence)
		}
		for id, s := range feed.v2 {
			if id != except && id != author {
				s.out.sendPatch(c.Seq, ops, false, presence)
			}
		}
	}
}

// connected greets a newly connected socket (v1: `connected`; v2: a
// snapshot, or `resumed` and the missed patches) and, in v1, announces its
// user to the others if the user just entered the room.
func (h *Hub) connected(feed *roomFeed, c store.Change[chat.State], d chat.RoomDiff) {
	sess := d.Connected
	if s := h.lookup(sess.ID); s != nil {
		if s.v2 {
			feed.greetV2(s, c, d)
			feed.v2[sess.ID] = s
		} else {
			s.out.send(actions.EncodeConnected(
				actions.User{ID: sess.UserID, Username: sess.Username},
				feed.users.listEncoded(), feed.v1list.list(), s.grantedToken(c, sess.UserID)))
			feed.v1[sess.ID] = s
		}
	}
	if d.Entered != nil {
		feed.broadcastV1(actions.EncodePresence(actions.EventJoined, *d.Entered), sess.ID, true)
	}
}

// broadcastV1 queues frame on every v1 socket of the room except one;
// presence says it is a `joined` or `disconnected`, which may wait for the
// presence window.
func (f *roomFeed) broadcastV1(frame []byte, except string, presence bool) {
	for id, s := range f.v1 {
		if id == except {
			continue
		}
		if presence {
			s.out.sendPresence(frame)
		} else {
			s.out.send(frame)
		}
	}
}
