package server

import (
	"context"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// leases keeps a cluster's view of which nodes are alive. Every node
// publishes a heartbeat on NATS every quarter of the lease; a node whose
// sessions the state holds and from which no heartbeat came for a whole
// lease is gone, and this node dispatches node/down for it. Several
// survivors may do so at once: the reducer applies the first and ignores
// the rest, so the node's users are announced disconnected once.
type leases struct {
	conn    *natsgo.Conn
	subject string // heartbeats go to subject + node
	self    string
	lease   time.Duration
	store   *store.Store[chat.State]
	log     zerolog.Logger

	mu sync.Mutex
	// started is when this node began hearing the cluster: its start, or
	// the return of its own heartbeats after a gap (a lost connection, a
	// pause of the process), during which it may have missed the others'
	// heartbeats too. No node's lease runs out sooner than a lease after it.
	started time.Time
	seen    map[string]time.Time // newest heartbeat per node, this one's too
	downAt  map[string]time.Time // when this node last dispatched node/down for it

	sub    *natsgo.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startLeases starts heartbeats for self and the watch over the others.
func startLeases(conn *natsgo.Conn, subject, self string, lease time.Duration, st *store.Store[chat.State], log zerolog.Logger) (*leases, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &leases{
		conn: conn, subject: subject + ".", self: self, lease: lease, store: st, log: log,
		started: time.Now(), seen: map[string]time.Time{}, downAt: map[string]time.Time{}, cancel: cancel,
	}
	sub, err := conn.Subscribe(l.subject+"*", func(m *natsgo.Msg) {
		node := m.Subject[len(l.subject):]
		now := time.Now()
		l.mu.Lock()
		if last, ok := l.seen[node]; ok && node == l.self && now.Sub(last) > l.lease/2 {
			l.started = now
		}
		l.seen[node] = now
		l.mu.Unlock()
	})
	if err != nil {
		cancel()
		return nil, err
	}
	l.sub = sub
	l.beat()
	l.wg.Add(1)
	go l.run(ctx)
	return l, nil
}

func (l *leases) run(ctx context.Context) {
	defer l.wg.Done()
	tick := time.NewTicker(l.lease / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.beat()
			for _, node := range l.expired(time.Now()) {
				l.wg.Add(1)
				go l.dispatchDown(ctx, node)
			}
		}
	}
}

// beat publishes this node's heartbeat. A lost connection buffers it or
// drops it; either way the others stop hearing this node.
func (l *leases) beat() {
	if err := l.conn.Publish(l.subject+l.self, nil); err != nil {
		l.log.Debug().Err(err).Msg("heartbeat not sent")
	}
}

// expired returns the nodes that the state holds sessions or grace
// periods of and whose lease ran out, each at most once per lease. A node
// that does not hear its own heartbeats (they come back through NATS
// within moments) cannot tell who else is silent: then none has expired.
func (l *leases) expired(now time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if self, ok := l.seen[l.self]; !ok || now.Sub(self) > l.lease/2 {
		return nil
	}
	var out []string
	held := l.store.GetState().Nodes()
	defer l.forget(now, held)
	for _, node := range held {
		if node == l.self {
			continue
		}
		last, ok := l.seen[node]
		if !ok || last.Before(l.started) {
			last = l.started // a node this one never heard of, or not since it could hear, gets a lease from then
		}
		if now.Sub(last) < l.lease || now.Sub(l.downAt[node]) < l.lease {
			continue
		}
		l.downAt[node] = now
		out = append(out, node)
	}
	return out
}

// forgetAfter is how many leases a node the state holds nothing of may
// stay silent before this node forgets it.
const forgetAfter = 3

// forget drops what this node remembers of the nodes that are gone: a
// node the state holds no session or grace period of (its node/down was
// applied, or its users left) is forgotten once it has been silent for
// forgetAfter leases, and its node/down time after a lease. Every start
// of a node without a fixed id is a new node: without this the maps
// would grow with every restart in the cluster. l.mu is held.
func (l *leases) forget(now time.Time, held []string) {
	inState := make(map[string]bool, len(held))
	for _, n := range held {
		inState[n] = true
	}
	for node, last := range l.seen {
		if node != l.self && !inState[node] && now.Sub(last) > forgetAfter*l.lease {
			delete(l.seen, node)
		}
	}
	for node, at := range l.downAt {
		if !inState[node] && now.Sub(at) >= l.lease {
			delete(l.downAt, node)
		}
	}
}

func (l *leases) dispatchDown(ctx context.Context, node string) {
	defer l.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, l.lease)
	defer cancel()
	err := l.store.Dispatch(ctx, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: node}})
	if err != nil {
		l.log.Warn().Err(err).Str("node", node).Msg("could not record a node whose lease ran out; will try again")
		l.mu.Lock()
		delete(l.downAt, node)
		l.mu.Unlock()
		return
	}
	l.log.Warn().Str("node", node).Dur("lease", l.lease).Msg("node gone: its lease ran out; its sockets are closed")
}

// close stops the heartbeats and the watch.
func (l *leases) close() {
	l.cancel()
	l.sub.Unsubscribe()
	l.wg.Wait()
}
