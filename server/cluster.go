package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
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
	// for its own. A node with an id of its own keeps snapshots of the
	// state in Config.Data, and restarts from the newest of them instead of
	// folding the whole stream.
	Node string
	// Lease is how long a node may go without a heartbeat before another
	// node closes its sockets in the state. Defaults to DefaultLease.
	Lease time.Duration
	// AppendTimeout is how long an append waits for the stream to
	// acknowledge it (across reconnects and leader elections) before its
	// dispatchers get an error: `unconfirmed` for the batch itself, and
	// `unavailable` at once for the dispatches queued behind it, so that
	// while the stream has no quorum no client waits much longer than
	// this. It must be shorter than the stream's duplicate window (two
	// minutes). Defaults to storenats.DefaultRetryTimeout (15s), which
	// covers a leader election after a crash.
	AppendTimeout time.Duration
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

// clusterNode is what a node of a cluster holds open besides its store.
type clusterNode struct {
	log   *storenats.Log
	snaps *file.Log // its snapshots, or nil
}

// openClusterStore connects to the stream and folds it into the state:
// from the newest of the node's own snapshots, if it keeps them, then the
// stream's records after it. A node keeps snapshots when it has an id of
// its own (Cluster.Node was set) and a Data directory: under
// Data/cluster/<stream>-<created>/<node>, so that a stream made anew never
// meets an older one's snapshots.
func openClusterStore(ctx context.Context, cfg Config, keepSnapshots bool, m *metrics) (*store.Store[chat.State], clusterNode, error) {
	start := time.Now()
	var node clusterNode
	nlog, err := storenats.Open(ctx, storenats.Options{
		URLs: cfg.Cluster.NATS, Stream: cfg.Cluster.Stream, Replicas: cfg.Cluster.Replicas,
		Name: "statecast " + cfg.Cluster.Node, Logger: cfg.Logger, RetryTimeout: cfg.Cluster.AppendTimeout,
	})
	if err != nil {
		return nil, node, err
	}
	node.log = nlog
	opts := store.Options[chat.State]{Log: m.log(nlog), Logger: cfg.Logger, Outcome: chat.OutcomeOf}
	if keepSnapshots {
		dir := filepath.Join(cfg.Data, "cluster", fmt.Sprintf("%s-%d", nlog.Stream(), nlog.Created().UnixNano()), cfg.Cluster.Node)
		if node.snaps, err = file.Open(dir, file.Options{SnapshotsOnly: true, Logger: cfg.Logger}); err != nil {
			nlog.Close()
			return nil, clusterNode{}, err
		}
		opts.Snapshots, opts.Codec, opts.SnapshotEvery = m.snapshots(node.snaps), chat.Codec{}, cfg.SnapshotEvery
	}
	reduce := chat.NewReducer(chat.Options{History: cfg.History})
	st, err := store.Open(ctx, chat.State{}, reduce, opts)
	if err != nil {
		nlog.Close()
		node.closeSnapshots()
		return nil, clusterNode{}, err
	}
	cfg.Logger.Info().Str("nats", cfg.Cluster.NATS).Str("stream", nlog.Stream()).Str("node", cfg.Cluster.Node).
		Bool("snapshots", keepSnapshots).Uint64("seq", st.Seq()).Dur("took", time.Since(start)).Msg("joined the cluster")
	return st, node, nil
}

// ready returns the /readyz check of a node on st: it reaches NATS, and
// it follows the stream (a node whose following stopped retries it, and
// refuses writes meanwhile).
func (n clusterNode) ready(st *store.Store[chat.State]) func() error {
	nc := n.log.Conn()
	return func() error {
		if !nc.IsConnected() {
			return errors.New("no connection to NATS")
		}
		return st.Health()
	}
}

// closeSnapshots releases the snapshots' directory, which the store does
// not own (it owns the stream's log).
func (n clusterNode) closeSnapshots() {
	if n.snaps != nil {
		n.snaps.Close()
	}
}

// joinCluster starts this node's heartbeats and the watch over the other
// nodes' leases, and closes this node's sockets if the others count it as
// gone (after it lost NATS for longer than a lease): their sessions are no
// longer in the state, so their clients must reconnect.
func (s *Server) joinCluster() error {
	nlog := s.cluster.log
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
