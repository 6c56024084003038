package server

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/inspect"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
)

// Config configures a server. Zero values mean the documented defaults.
type Config struct {
	// Transport configures the network edge (address, limits, origins).
	Transport transport.Config
	// History is how many messages each room retains. Defaults to
	// chat.DefaultHistory.
	History int
	// Limits are the field sizes the Validate middleware enforces.
	Limits middleware.Limits
	// RateLimit configures the RateLimit middleware: token buckets per
	// socket and per remote address. Zero values mean its defaults;
	// rate.Inf turns a limit off.
	RateLimit middleware.RateLimitOptions
	// Auth, when its Secret is set, installs the Auth middleware: user ids
	// and names come from signed tokens. Defaults to none: ids come from
	// the clients.
	Auth middleware.AuthOptions
	// Grace is how long a user stays listed after its last socket in a room
	// closed. Defaults to middleware.DefaultGrace.
	Grace time.Duration
	// Data is the directory of the action log and its snapshots. Empty
	// keeps the state in memory only: nothing survives a restart.
	Data string
	// Fsync is when the log reaches the disk. Defaults to file.Always.
	Fsync file.Fsync
	// SnapshotEvery is how many actions pass between snapshots. Defaults to
	// store.DefaultSnapshotEvery.
	SnapshotEvery uint64
	// Prune removes log segments that the kept snapshots cover.
	Prune bool
	// DisableMetrics turns off the Prometheus metrics and their /metrics
	// endpoint. Defaults to false: metrics on, on a registry of the
	// server's own (see Server.Metrics).
	DisableMetrics bool
	// ShutdownTimeout bounds Run's graceful shutdown. Defaults to 10s.
	ShutdownTimeout time.Duration
	// Logger receives the server's log lines. Defaults to none.
	Logger zerolog.Logger
	// Cluster, when its NATS URLs are set, makes the server a node of a
	// cluster whose action log is a NATS JetStream stream; Fsync and Prune
	// are then unused, and Data holds only the node's snapshots (every
	// SnapshotEvery actions), if it has an id of its own (Cluster.Node).
	Cluster Cluster
	// Inspect serves the inspector at /inspect/ (see Inspect). Off by
	// default.
	Inspect Inspect
	// LoggerOptions configure the Logger middleware's line per action:
	// sampling at high rates, fields of your own. Defaults to a line for
	// every action (at debug level for applied ones).
	LoggerOptions middleware.LoggerOptions
}

// Server is a statecast server. Create it with New, add middleware with
// Use, then Run it (or Open and Shutdown it yourself).
type Server struct {
	cfg      Config
	metrics  *metrics // nil when disabled
	store    *store.Store[chat.State]
	presence *middleware.Presence
	limiter  store.Middleware
	auth     store.Middleware
	web      *transport.Server
	leases   *leases     // in a cluster
	redo     *redo       // socket closes and presence expiries refused while the storage fails
	cluster  clusterNode // in a cluster
	// inspector serves /inspect/ when Config.Inspect is enabled.
	inspector *inspect.Handler
}

// New recovers the state from cfg.Data, installs the built-in middleware
// and closes the sockets a previous run left in the state. It does not
// listen yet.
func New(ctx context.Context, cfg Config) (*Server, error) {
	v := Version()
	cfg.Logger.Info().Str("version", v.Version).Str("commit", v.Commit).Str("commit_time", v.Time).
		Bool("modified", v.Modified).Str("go", v.Go).Msg("statecast starting")
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	limiter, err := middleware.RateLimit(cfg.RateLimit)
	if err != nil {
		return nil, err
	}
	// Without a secret, Auth is a pass-through: ids come from the clients.
	var auth store.Middleware = func(next store.Dispatch) store.Dispatch { return next }
	if len(cfg.Auth.Secret) > 0 {
		var err error
		if auth, err = middleware.Auth(cfg.Auth); err != nil {
			return nil, err
		}
	}
	m := newMetrics(cfg.DisableMetrics)
	var (
		st      *store.Store[chat.State]
		cluster clusterNode
	)
	if cfg.Cluster.enabled() {
		keepSnapshots := cfg.Cluster.Node != "" && cfg.Data != ""
		cfg.Cluster = cfg.Cluster.withDefaults()
		cfg.Transport.Node = cfg.Cluster.Node
		st, cluster, err = openClusterStore(ctx, cfg, keepSnapshots, m)
		if err == nil {
			cfg.Transport.Ready = cluster.ready(st)
		}
	} else {
		st, cfg.Transport.Ready, err = openStore(ctx, cfg, m)
	}
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	s := &Server{cfg: cfg, store: st, presence: middleware.NewPresence(st, cfg.Grace, log), auth: auth, cluster: cluster,
		redo: newRedo(st, log)}
	s.limiter = limiter
	s.metrics = m
	st.Use(s.redo.middleware) // outermost: a redone close or expiry passes every built-in again
	st.Use(s.builtins()...)
	if !cfg.Cluster.enabled() {
		// Sockets of an earlier run are gone: close them in the state, and
		// restart the grace timers of every user left without a socket.
		err = st.Dispatch(ctx, &actions.Action{Type: actions.TypeServerStart})
	} else {
		// A node of a cluster closes only its own sockets of an earlier run
		// under the same id (-node); with a fresh id there are none, and the
		// others close its previous run's once that run's lease is over.
		err = st.Dispatch(ctx, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: cfg.Cluster.Node}})
	}
	if err == nil {
		err = s.mountInspector(ctx, &cfg)
	}
	if err == nil {
		s.web, err = transport.NewServer(m.transport(cfg.Transport), st, log)
	}
	if err == nil && cluster.log != nil {
		err = s.joinCluster()
	}
	if err != nil {
		s.close()
		return nil, err
	}
	m.watch(s.web)
	s.presence.Resume(cfg.Transport.Node)
	return s, nil
}

// openStore opens the action log and recovers the state from its newest
// snapshot and the records after it. ready is the /readyz check of the
// log's storage (nil in memory).
func openStore(ctx context.Context, cfg Config, m *metrics) (st *store.Store[chat.State], ready func() error, err error) {
	reduce := chat.NewReducer(chat.Options{History: cfg.History})
	if cfg.Data == "" {
		st, err = store.Open(ctx, chat.State{}, reduce, store.Options[chat.State]{Outcome: chat.OutcomeOf})
		return st, nil, err
	}
	start := time.Now()
	flog, err := file.Open(cfg.Data, file.Options{Fsync: cfg.Fsync, Prune: cfg.Prune, Logger: cfg.Logger, OnSync: m.onSync(), OnHealth: m.onHealth()})
	if err != nil {
		return nil, nil, err
	}
	st, err = store.Open(ctx, chat.State{}, reduce, store.Options[chat.State]{
		Log: m.log(flog), Snapshots: m.snapshots(flog), Codec: chat.Codec{}, SnapshotEvery: cfg.SnapshotEvery, Logger: cfg.Logger,
		Outcome: chat.OutcomeOf,
	})
	if err != nil {
		flog.Close()
		return nil, nil, err
	}
	cfg.Logger.Info().Str("data", cfg.Data).Str("fsync", cfg.Fsync.String()).Uint64("seq", st.Seq()).
		Dur("took", time.Since(start)).Msg("state recovered")
	return st, storageReady(flog), nil
}

// Store returns the server's store, for middleware that reads the state or
// dispatches actions of its own.
func (s *Server) Store() *store.Store[chat.State] { return s.store }

// Use adds middleware after the built-ins, closest to the reducer, in the
// order given. Call it before Open: actions dispatched meanwhile pass
// through either the old or the new chain.
func (s *Server) Use(mw ...store.Middleware) { s.store.Use(mw...) }

// Open listens on cfg.Transport.Addr and serves in the background, so that
// Addr is known when it returns.
func (s *Server) Open() error {
	if err := s.web.Open(); err != nil {
		return err
	}
	s.cfg.Logger.Info().Str("addr", s.Addr().String()).Msg("statecast serving")
	return nil
}

// Addr returns the listening address once Open succeeded.
func (s *Server) Addr() net.Addr { return s.web.Addr() }

// Shutdown closes every socket with 1001 after the frames queued for it,
// records their closes, stops the grace timers, writes a last snapshot and
// closes the log. Safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cfg.Logger.Info().Msg("shutting down")
	if s.inspector != nil {
		s.inspector.Close() // its live tails never end on their own
	}
	err := s.web.Shutdown(ctx)
	if cerr := s.close(); err == nil {
		err = cerr
	}
	s.cfg.Logger.Info().Uint64("seq", s.store.Seq()).Msg("stopped")
	return err
}

func (s *Server) close() error {
	s.redo.close()
	if s.leases != nil {
		s.leases.close()
	}
	if s.inspector != nil {
		s.inspector.Close()
	}
	s.presence.Close()
	err := s.store.Close() // its last snapshot goes to the cluster's snapshots too
	s.cluster.closeSnapshots()
	return err
}

// Run opens the server, serves until ctx ends, and shuts down within
// cfg.ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Open(); err != nil {
		return errors.Join(err, s.close())
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}
