package server

import (
	"context"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	storenats "github.com/statecast/statecast/store/nats"
)

// DefaultLease is how long a node may stay silent before the others count
// it as gone.
const DefaultLease = 5 * time.Second

// Cluster makes a server one node of several that share one action log, a
// NATS JetStream stream: every node appends its actions to the stream and
// applies the whole stream in order, so every node holds the same state
// and pushes its changes to its own sockets.
type Cluster struct {
	// NATS lists the NATS servers, comma-separated ("nats://h1:4222,…").
	// Empty: a single server with its log in Config.Data.
	NATS string
	// Stream is the JetStream stream of the log. Defaults to "statecast".
	Stream string
	// Replicas is the number of copies of the stream when this node
	// creates it: 3 on a three-server NATS cluster. Defaults to 1.
	Replicas int
	// Node is this node's id. Defaults to a fresh UUID at every start, so
	// that a restarted node never mistakes the sockets of its previous run
	// for its own.
	Node string
	// Lease is how long a node may go without a heartbeat before another
	// node closes its sockets in the state. Defaults to DefaultLease.
	Lease time.Duration
}

// enabled reports whether the server runs as a node of a cluster.
func (c Cluster) enabled() bool { return c.NATS != "" }

func (c Cluster) withDefaults() Cluster {
	if c.Node == "" {
		c.Node = uuid.NewString()
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	return c
}

// openClusterStore connects to the stream and folds it into the state.
func openClusterStore(ctx context.Context, cfg Config, m *metrics) (*store.Store[chat.State], *storenats.Log, error) {
	start := time.Now()
	nlog, err := storenats.Open(ctx, storenats.Options{
		URLs: cfg.Cluster.NATS, Stream: cfg.Cluster.Stream, Replicas: cfg.Cluster.Replicas,
		Name: "statecast " + cfg.Cluster.Node, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, nil, err
	}
	reduce := chat.NewReducer(chat.Options{History: cfg.History})
	st, err := store.Open(ctx, chat.State{}, reduce, store.Options[chat.State]{Log: m.log(nlog), Logger: cfg.Logger})
	if err != nil {
		nlog.Close()
		return nil, nil, err
	}
	cfg.Logger.Info().Str("nats", cfg.Cluster.NATS).Str("stream", nlog.Stream()).Str("node", cfg.Cluster.Node).
		Uint64("seq", st.Seq()).Dur("took", time.Since(start)).Msg("joined the cluster")
	return st, nlog, nil
}

// joinCluster starts this node's heartbeats and the watch over the other
// nodes' leases, and closes this node's sockets if the others count it as
// gone (after it lost NATS for longer than a lease): their sessions are no
// longer in the state, so their clients must reconnect.
func (s *Server) joinCluster(nlog *storenats.Log) error {
	c := s.cfg.Cluster
	s.store.Subscribe(func(ch store.Change[chat.State]) {
		if p, ok := ch.Action.Payload.(actions.NodeDown); ok && ch.Action.Type == actions.TypeNodeDown && p.Node == c.Node {
			s.cfg.Logger.Error().Str("node", c.Node).Msg("the cluster counted this node as gone; closing its sockets so that their clients reconnect")
			go s.web.Disconnect(websocket.StatusTryAgainLater, "this node lost the cluster; reconnect")
		}
	})
	l, err := startLeases(nlog.Conn(), nlog.Stream()+".nodes", c.Node, c.Lease, s.store, s.cfg.Logger)
	if err != nil {
		return err
	}
	s.leases = l
	return nil
}
