package middleware

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// DefaultGrace is how long a user stays in a room's user list after its last
// socket there closed.
const DefaultGrace = time.Second

// ChatStore is the part of the store that Presence uses.
type ChatStore interface {
	GetState() chat.State
	Dispatch(ctx context.Context, a *actions.Action) error
}

// Presence keeps the grace timers: when a user's last socket in a room
// closes, it waits the grace period and then dispatches
// actions.TypeExpirePresence, which removes the user from the list unless a
// socket of the user came back. The timer lives here, not in the reducer,
// so a replay needs no timers: the expiry is an action in the log.
//
// Install Middleware last among the built-ins (it acts on applied actions),
// and call Close when shutting down, before closing the store.
type Presence struct {
	store ChatStore
	grace time.Duration
	log   zerolog.Logger

	mu     sync.Mutex
	timers map[presenceKey]graceTimer
	closed bool
	firing sync.WaitGroup
}

type presenceKey struct{ room, user string }

// graceTimer is the timer of the grace period that the leave at since
// (the seq of the close) started.
type graceTimer struct {
	t     *time.Timer
	since uint64
}

// NewPresence returns grace timers for s. A grace of zero or less means
// DefaultGrace.
func NewPresence(s ChatStore, grace time.Duration, log zerolog.Logger) *Presence {
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Presence{store: s, grace: grace, log: log, timers: map[presenceKey]graceTimer{}}
}

// Middleware starts a timer after each applied TypeCloseSession that left
// its user without sockets in the room, and cancels the user's timer when a
// socket of the user connects again. It acts on what the reducer granted
// (a.Outcome), never on what the action asked for: a claim of someone
// else's id that the reducer refused (the socket got a fresh id) leaves
// that user's timer running, and an action rejected by any middleware, or
// ignored by the reducer, starts and cancels nothing.
//
// Dispatchers act concurrently, each once its own action is applied, so
// they may act out of the log's order: a connect cancels only the grace
// periods of leaves before it, and a close never replaces the grace period
// of a later leave.
func (p *Presence) Middleware() store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			err := next(ctx, a)
			if err != nil || !a.Outcome.Applied || a.Outcome.User == "" {
				return err
			}
			switch a.Type {
			case actions.TypeConnect:
				p.cancel(presenceKey{a.Room, a.Outcome.User}, a.Seq)
			case actions.TypeCloseSession:
				p.schedule(a.Room, a.Outcome.User, a.Seq)
			}
			return nil
		}
	}
}

// Resume starts a grace timer for every user the current state shows in
// its grace period: after a restart, the timers of the previous run are
// gone, but their users must still leave. Call it once the store has
// recovered and applied actions.TypeServerStart. In a cluster, each node
// resumes only the grace periods its own sockets started (node is its id;
// "" on a single server, whose sockets have no node): the others' are
// their nodes' to end, or node/down's when a node is gone.
func (p *Presence) Resume(node string) {
	s := p.store.GetState()
	for _, name := range s.RoomNames() {
		for _, pr := range s.Room(name).Presences() {
			if pr.Sockets == 0 && pr.LeftAt != 0 && pr.LeftOn == node {
				p.start(presenceKey{name, pr.User.ID}, pr.LeftAt)
			}
		}
	}
}

// schedule starts user's grace timer in room if the close at seq left the
// user without a socket there.
func (p *Presence) schedule(room, user string, seq uint64) {
	r := p.store.GetState().Room(room)
	if r == nil {
		return
	}
	pr, ok := r.Presence(user)
	if !ok || pr.Sockets > 0 || pr.LeftAt != seq {
		return
	}
	p.start(presenceKey{room, user}, seq)
}

// start (re)starts the timer of key for the leave at seq since, unless
// key has the timer of a later leave: a stale state showed the earlier one.
func (p *Presence) start(key presenceKey, since uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if old, ok := p.timers[key]; ok {
		if old.since > since {
			return
		}
		old.t.Stop()
	}
	p.timers[key] = graceTimer{t: time.AfterFunc(p.grace, func() { p.expire(key, since) }), since: since}
}

func (p *Presence) expire(key presenceKey, since uint64) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	// A later leave may have replaced this timer meanwhile: keep that one.
	if cur, ok := p.timers[key]; ok && cur.since == since {
		delete(p.timers, key)
	}
	p.firing.Add(1)
	p.mu.Unlock()
	defer p.firing.Done()
	err := p.store.Dispatch(context.Background(), &actions.Action{
		Type: actions.TypeExpirePresence, Room: key.room, User: key.user,
		Payload: actions.Expire{Since: since},
	})
	if err != nil {
		p.log.Error().Err(err).Str("room", key.room).Str("user", key.user).Msg("presence expiry failed")
	}
}

// cancel stops the timer of key if it is for a leave before the connect at
// seq: the timer of a later leave must run.
func (p *Presence) cancel(key presenceKey, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.timers[key]; ok && old.since < seq {
		old.t.Stop()
		delete(p.timers, key)
	}
}

// Close stops every pending timer and waits for expiries already firing.
// Users still in their grace period stay in the state. Safe to call twice.
func (p *Presence) Close() {
	p.mu.Lock()
	p.closed = true
	for key, old := range p.timers {
		old.t.Stop()
		delete(p.timers, key)
	}
	p.mu.Unlock()
	p.firing.Wait()
}
