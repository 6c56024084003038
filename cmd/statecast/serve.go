package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
)

// serveConfig is everything `statecast serve` can be told.
type serveConfig struct {
	transport      transport.Config
	history        int
	grace          time.Duration
	origins        string
	logLevel       string
	logFormat      string
	shutdownWithin time.Duration
	data           string
	fsync          string
	snapshotEvery  uint64
	prune          bool
}

func parseServe(args, env []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("statecast serve", flag.ContinueOnError)
	fs.StringVar(&c.transport.Addr, "addr", ":3005", "listen address `host:port` (STATECAST_ADDR)")
	fs.DurationVar(&c.grace, "grace", middleware.DefaultGrace, "how long a user stays listed after its last socket closed (STATECAST_GRACE)")
	fs.IntVar(&c.history, "history", chat.DefaultHistory, "messages retained per room and sent in messagesList (STATECAST_HISTORY)")
	fs.Int64Var(&c.transport.FrameLimit, "frame-limit", 64<<10, "largest client frame in `bytes`; larger closes with 1009 (STATECAST_FRAME_LIMIT)")
	fs.StringVar(&c.origins, "allowed-origins", "", "extra browser origins, comma-separated host[:port] patterns such as *.example.com (STATECAST_ALLOWED_ORIGINS)")
	fs.IntVar(&c.transport.SendQueue, "send-queue", 1024, "frames queued for one socket before it is closed with 1013 (STATECAST_SEND_QUEUE)")
	fs.DurationVar(&c.transport.PingInterval, "ping-interval", 20*time.Second, "how often an idle socket is pinged (STATECAST_PING_INTERVAL)")
	fs.DurationVar(&c.transport.PingTimeout, "ping-timeout", 10*time.Second, "how long a pong may take before the peer counts as dead (STATECAST_PING_TIMEOUT)")
	fs.StringVar(&c.data, "data", "./data", "data `directory`: the action log and snapshots (STATECAST_DATA)")
	fs.StringVar(&c.fsync, "fsync", "always", "when the log reaches the disk: always (before anyone sees an action), interval (once a second; a power loss can lose the last second), off (STATECAST_FSYNC)")
	fs.Uint64Var(&c.snapshotEvery, "snapshot-every", store.DefaultSnapshotEvery, "write a snapshot every `N` actions, and on shutdown (STATECAST_SNAPSHOT_EVERY)")
	fs.BoolVar(&c.prune, "prune", false, "remove log segments that the kept snapshots cover (the history before them can no longer be replayed) (STATECAST_PRUNE)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error (STATECAST_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: console, json, or auto (console on a terminal) (STATECAST_LOG_FORMAT)")
	fs.DurationVar(&c.shutdownWithin, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take (STATECAST_SHUTDOWN_TIMEOUT)")
	if err := applyEnv(fs, env); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.origins != "" {
		for _, o := range strings.Split(c.origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.transport.AllowedOrigins = append(c.transport.AllowedOrigins, o)
			}
		}
	}
	switch {
	case c.snapshotEvery < 1:
		return c, fmt.Errorf("-snapshot-every must be at least 1")
	case c.history < 1:
		return c, fmt.Errorf("-history must be at least 1")
	case c.grace <= 0:
		return c, fmt.Errorf("-grace must be positive")
	case c.transport.FrameLimit < 64:
		return c, fmt.Errorf("-frame-limit must be at least 64 bytes")
	case c.transport.SendQueue < 1:
		return c, fmt.Errorf("-send-queue must be at least 1")
	case c.transport.PingInterval <= 0:
		return c, fmt.Errorf("-ping-interval must be positive")
	case c.transport.PingTimeout <= 0:
		return c, fmt.Errorf("-ping-timeout must be positive")
	}
	return c, c.transport.Validate()
}

// applyEnv sets flag defaults from STATECAST_<FLAG> variables (dashes
// become underscores); flags on the command line still win.
func applyEnv(fs *flag.FlagSet, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "STATECAST_") {
			vars[k] = v
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := "STATECAST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := vars[key]; ok && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s: %w", key, serr)
			}
		}
	})
	return err
}

// serve runs the chat server until ctx ends. ready, when not nil, receives
// the listening address once the server accepts connections.
func serve(ctx context.Context, args, env []string, ready func(net.Addr)) error {
	c, err := parseServe(args, env)
	if err != nil {
		return err
	}
	log, err := newLogger(c.logLevel, c.logFormat, os.Stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	presence := middleware.NewPresence(st, c.grace, log)
	st.Use(
		middleware.Recover(log),
		middleware.Stamp(nil),
		middleware.Logger(log),
		middleware.Validate(),
		presence.Middleware(),
	)
	// Sockets of an earlier run are gone: close them in the state, and
	// restart the grace timers of every user left without a socket.
	if err := st.Dispatch(ctx, &actions.Action{Type: actions.TypeServerStart}); err != nil {
		st.Close()
		return err
	}
	presence.Resume()
	srv, err := transport.NewServer(c.transport, st, log)
	if err == nil {
		err = srv.Open()
	}
	if err != nil {
		presence.Close()
		st.Close()
		return err
	}
	log.Info().Str("addr", srv.Addr().String()).Msg("statecast serving")
	if ready != nil {
		ready(srv.Addr())
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownWithin)
	defer cancel()
	err = srv.Shutdown(sctx)
	presence.Close()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	log.Info().Uint64("seq", st.Seq()).Msg("stopped")
	return err
}

// openStore opens the action log in the data directory and recovers the
// state from its newest snapshot and the records after it.
func openStore(ctx context.Context, c serveConfig, log zerolog.Logger) (*store.Store[chat.State], error) {
	policy, err := file.ParseFsync(c.fsync)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	flog, err := file.Open(c.data, file.Options{Fsync: policy, Prune: c.prune, Logger: log})
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, chat.State{}, chat.NewReducer(chat.Options{History: c.history}), store.Options[chat.State]{
		Log: flog, Snapshots: flog, Codec: chat.Codec{}, SnapshotEvery: c.snapshotEvery, Logger: log,
	})
	if err != nil {
		flog.Close()
		return nil, err
	}
	log.Info().Str("data", c.data).Str("fsync", policy.String()).Uint64("seq", st.Seq()).
		Dur("took", time.Since(start)).Msg("state recovered")
	return st, nil
}

func newLogger(level, format string, w *os.File) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	var out = zerolog.New(w)
	switch format {
	case "json":
	case "console":
		out = zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly})
	case "auto":
		if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			out = zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly})
		}
	default:
		return zerolog.Nop(), fmt.Errorf("-log-format %q: want console, json or auto", format)
	}
	return out.Level(lvl).With().Timestamp().Logger(), nil
}
