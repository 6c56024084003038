package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	storenats "github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/transport"
	"golang.org/x/time/rate"
)

// serveConfig is everything `statecast serve` can be told.
type serveConfig struct {
	transport      transport.Config
	history        int
	grace          time.Duration
	origins        string
	logLevel       string
	logFormat      string
	logSample      int
	shutdownWithin time.Duration
	data           string
	fsync          string
	snapshotEvery  uint64
	prune          bool
	metrics        bool
	limits         middleware.Limits
	rateLimit      middleware.RateLimitOptions
	rate           float64 // per socket; 0 is no limit
	ratePerAddress float64
	trustedProxies string
	auth           middleware.AuthOptions
	authSecret     string
	authSecretFile string
	cluster        server.Cluster
	inspect        server.Inspect
}

// serveFlags returns the flags of `statecast serve`, each bound to its
// field of c and set to its default.
func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.transport.Addr, "addr", ":3005", "listen address `host:port` (STATECAST_ADDR)")
	fs.DurationVar(&c.grace, "grace", middleware.DefaultGrace, "how long a user stays listed after its last socket closed (STATECAST_GRACE)")
	fs.IntVar(&c.history, "history", chat.DefaultHistory, "messages retained per room and sent in messagesList (STATECAST_HISTORY)")
	fs.Int64Var(&c.transport.FrameLimit, "frame-limit", 64<<10, "largest client frame in `bytes`; larger closes with 1009 (STATECAST_FRAME_LIMIT)")
	fs.StringVar(&c.origins, "allowed-origins", "", "extra browser origins, comma-separated host[:port] patterns such as *.example.com (STATECAST_ALLOWED_ORIGINS)")
	fs.IntVar(&c.transport.SendQueue, "send-queue", 1024, "frames queued for one socket before it is closed with 1013 (STATECAST_SEND_QUEUE)")
	fs.IntVar(&c.transport.ResumeWindow, "resume-window", 4096, "changes per room kept for v2 clients that resume; one that missed more gets a snapshot (STATECAST_RESUME_WINDOW)")
	fs.DurationVar(&c.transport.MergeWindow, "merge-window", transport.DefaultMergeWindow, "least time between two writes to one v2 socket; changes that come sooner go out merged into one patch; negative: off (STATECAST_MERGE_WINDOW)")
	fs.DurationVar(&c.transport.PresenceWindow, "presence-window", transport.DefaultPresenceWindow, "the same for changes of the user list alone, so that a crowd joining a room goes out in a few patches; a message ends the wait at -merge-window; negative: off (STATECAST_PRESENCE_WINDOW)")
	fs.DurationVar(&c.transport.PingInterval, "ping-interval", 20*time.Second, "how often an idle socket is pinged (STATECAST_PING_INTERVAL)")
	fs.DurationVar(&c.transport.PingTimeout, "ping-timeout", 10*time.Second, "how long a pong may take before the peer counts as dead (STATECAST_PING_TIMEOUT)")
	fs.IntVar(&c.limits.Message, "max-message", 16384, "longest chat message, in characters (STATECAST_MAX_MESSAGE)")
	fs.Float64Var(&c.rate, "rate", 10, "connecting and writeMessage events per second that one socket may send in the long run; over it, error rate_limited, and 1008 for repeat offenders; 0 turns this limit off (STATECAST_RATE)")
	fs.IntVar(&c.rateLimit.SessionBurst, "rate-burst", 20, "events one socket may send at once, above -rate (STATECAST_RATE_BURST)")
	fs.Float64Var(&c.ratePerAddress, "rate-per-address", 0, "writeMessage events per second that all the sockets of one IP address (IPv6: one /64) may send together (connecting never counts); thousands of users can share one address; 0: no limit (STATECAST_RATE_PER_ADDRESS)")
	fs.IntVar(&c.rateLimit.AddressBurst, "rate-address-burst", 0, "events the sockets of one address may send at once, above -rate-per-address; 0: twice -rate-per-address (STATECAST_RATE_ADDRESS_BURST)")
	fs.IntVar(&c.transport.MaxConns, "max-conns", 100_000, "sockets open at once; beyond, the upgrade is refused with 503 and Retry-After (STATECAST_MAX_CONNS)")
	fs.IntVar(&c.transport.MaxConnsPerAddress, "max-conns-per-address", 10_000, "sockets open at once from one client address (IPv6: one /64); size it for the users behind one NAT or proxy (STATECAST_MAX_CONNS_PER_ADDRESS)")
	fs.Float64Var(&c.transport.HandshakeRate, "handshake-rate", 200, "WebSocket handshakes per second one client address may make in the long run; more wait their turn (STATECAST_HANDSHAKE_RATE)")
	fs.IntVar(&c.transport.HandshakeBurst, "handshake-burst", 2000, "handshakes one address may make at once, above -handshake-rate (STATECAST_HANDSHAKE_BURST)")
	fs.DurationVar(&c.transport.HandshakeWait, "handshake-wait", 10*time.Second, "longest a handshake over its address's budget waits for its turn; beyond, 503 and Retry-After (STATECAST_HANDSHAKE_WAIT)")
	fs.IntVar(&c.transport.MaxRooms, "max-rooms", 10_000, "rooms the state may hold (they are never removed); beyond, an upgrade to a new room is refused with 403, the rooms that exist stay reachable (STATECAST_MAX_ROOMS)")
	fs.DurationVar(&c.transport.HandshakeTimeout, "handshake-timeout", 10*time.Second, "longest a connection may take to send its request headers (TLS handshake included); a slower one is closed (STATECAST_HANDSHAKE_TIMEOUT)")
	fs.DurationVar(&c.transport.ConnectTimeout, "connect-timeout", 30*time.Second, "longest a socket may stay open without sending connecting; then it is closed with 1008 (STATECAST_CONNECT_TIMEOUT)")
	fs.DurationVar(&c.transport.IdleRoom, "idle-room", 2*time.Minute, "how long a room may have no socket before the server drops its encoded messages and recent changes from memory (its history stays in the log; a resume from before gets a snapshot) (STATECAST_IDLE_ROOM)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated `CIDRs` of the reverse proxies in front of the server: from them, X-Forwarded-For/Forwarded name the client and X-Forwarded-Proto/-Host the origin; from anyone else these headers are ignored (STATECAST_TRUSTED_PROXIES)")
	fs.StringVar(&c.transport.TLSCert, "tls-cert", "", "serve HTTPS and wss with the certificate in this PEM `file` (its chain after it), read again when it changes; needs -tls-key (STATECAST_TLS_CERT)")
	fs.StringVar(&c.transport.TLSKey, "tls-key", "", "the private key of -tls-cert, a PEM `file` (STATECAST_TLS_KEY)")
	fs.StringVar(&c.transport.HTTPRedirect, "http-redirect", "", "with -tls-cert, answer plain HTTP on this `address` (such as :80) with a redirect to HTTPS (STATECAST_HTTP_REDIRECT)")
	fs.IntVar(&c.transport.V1FrameBytes, "v1-frame-bytes", 1<<20, "largest messagesList in one v1 frame, in `bytes`; the oldest messages that do not fit are left out of v1 frames, never out of the state (STATECAST_V1_FRAME_BYTES)")
	fs.StringVar(&c.data, "data", "./data", "data `directory`: the action log and snapshots (STATECAST_DATA)")
	fs.StringVar(&c.fsync, "fsync", "always", "when the log reaches the disk: always (before anyone sees an action), interval (once a second; a power loss can lose the last second), off (STATECAST_FSYNC)")
	fs.Uint64Var(&c.snapshotEvery, "snapshot-every", store.DefaultSnapshotEvery, "write a snapshot every `N` actions, and on shutdown (STATECAST_SNAPSHOT_EVERY)")
	fs.BoolVar(&c.prune, "prune", false, "remove log segments that the kept snapshots cover (the history before them can no longer be replayed) (STATECAST_PRUNE)")
	fs.BoolVar(&c.metrics, "metrics", true, "serve Prometheus metrics at /metrics; -metrics=false turns them off (STATECAST_METRICS)")
	fs.StringVar(&c.authSecret, "auth-secret", "", "HMAC secret (at least 32 bytes) of the JWTs (HS256) that connecting must carry; empty: no authentication, ids come from the clients. Prefer the variable or -auth-secret-file: command lines are visible to other users (STATECAST_AUTH_SECRET)")
	fs.StringVar(&c.authSecretFile, "auth-secret-file", "", "read the -auth-secret from this `file` (trailing newlines dropped) (STATECAST_AUTH_SECRET_FILE)")
	fs.StringVar(&c.auth.Issuer, "auth-issuer", "", "with authentication, tokens must have this iss (STATECAST_AUTH_ISSUER)")
	fs.StringVar(&c.auth.Audience, "auth-audience", "", "with authentication, tokens must have this aud (STATECAST_AUTH_AUDIENCE)")
	fs.StringVar(&c.cluster.NATS, "nats", "", "join a cluster: the NATS servers, comma-separated `URLs`, whose JetStream stream holds the action log (-data then holds only the snapshots of a node with a -node id) (STATECAST_NATS)")
	fs.StringVar(&c.cluster.Stream, "nats-stream", "statecast", "with -nats, the JetStream stream of the action log (STATECAST_NATS_STREAM)")
	fs.IntVar(&c.cluster.Replicas, "nats-replicas", 1, "with -nats, the stream's replicas when this node creates it: 3 on a cluster of three NATS servers (STATECAST_NATS_REPLICAS)")
	fs.StringVar(&c.cluster.Node, "node", "", "with -nats, this node's `id`; default: a fresh UUID each start. A node with an id of its own keeps snapshots in -data and restarts from them (STATECAST_NODE)")
	fs.DurationVar(&c.cluster.Lease, "lease", server.DefaultLease, "with -nats, how long a node may stay silent before the others close its sockets (STATECAST_LEASE)")
	fs.DurationVar(&c.cluster.AppendTimeout, "nats-append-timeout", storenats.DefaultRetryTimeout, "with -nats, how long an append waits for the stream's acknowledgement (a quorum) before its clients get an error; the writes queued behind it are refused at once with unavailable; under 2m (STATECAST_NATS_APPEND_TIMEOUT)")
	fs.BoolVar(&c.inspect.Enabled, "inspect", false, "serve the inspector at /inspect/: the action log, the state after any action and the change each made; it needs -data or -nats (STATECAST_INSPECT)")
	fs.StringVar(&c.inspect.Token, "inspect-token", "", "the admin token the inspector asks for (Authorization: Bearer, or ?token= once); empty: only loopback clients get in. Prefer the variable (STATECAST_INSPECT_TOKEN)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error (STATECAST_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: console, json, or auto (console on a terminal) (STATECAST_LOG_FORMAT)")
	fs.IntVar(&c.logSample, "log-sample", 0, "at debug level, log at most `N` applied actions per second; rejections and errors are always logged; 0 logs every action (STATECAST_LOG_SAMPLE)")
	fs.DurationVar(&c.shutdownWithin, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take (STATECAST_SHUTDOWN_TIMEOUT)")
	return fs
}

// parseServe parses the flags of `statecast serve` in args, with defaults
// from the STATECAST_* variables of env, and checks their values. more
// binds flags of the program's own on the same set.
func parseServe(args, env []string, more ...func(*flag.FlagSet)) (serveConfig, error) {
	var c serveConfig
	fs := serveFlags(&c)
	for _, fn := range more {
		fn(fs)
	}
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
	if err := c.readAuthSecret(); err != nil {
		return c, err
	}
	switch {
	case c.logSample < 0:
		return c, fmt.Errorf("-log-sample must be 0 (every action) or more")
	case !(c.rate >= 0 && c.ratePerAddress >= 0):
		return c, fmt.Errorf("-rate and -rate-per-address must be 0 (no limit) or more")
	case c.rateLimit.SessionBurst < 1 || c.rateLimit.AddressBurst < 0:
		return c, fmt.Errorf("-rate-burst must be at least 1, and -rate-address-burst 0 (twice the rate) or more")
	case c.transport.MaxConns < 1 || c.transport.MaxConnsPerAddress < 1 || c.transport.MaxRooms < 1:
		return c, fmt.Errorf("-max-conns, -max-conns-per-address and -max-rooms must be at least 1")
	case c.transport.HandshakeTimeout <= 0 || c.transport.ConnectTimeout <= 0 || c.transport.IdleRoom <= 0:
		return c, fmt.Errorf("-handshake-timeout, -connect-timeout and -idle-room must be positive")
	case !(c.transport.HandshakeRate > 0) || c.transport.HandshakeBurst < 1 || c.transport.HandshakeWait <= 0:
		return c, fmt.Errorf("-handshake-rate, -handshake-burst and -handshake-wait must be positive")
	case (c.transport.TLSCert == "") != (c.transport.TLSKey == ""):
		return c, fmt.Errorf("-tls-cert and -tls-key go together")
	case c.transport.HTTPRedirect != "" && c.transport.TLSCert == "":
		return c, fmt.Errorf("-http-redirect needs -tls-cert and -tls-key")
	case c.transport.V1FrameBytes < 1024:
		return c, fmt.Errorf("-v1-frame-bytes must be at least 1024")
	case c.snapshotEvery < 1:
		return c, fmt.Errorf("-snapshot-every must be at least 1")
	case c.limits.Message < 1:
		return c, fmt.Errorf("-max-message must be at least 1")
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
	case c.cluster.Lease < 100*time.Millisecond:
		return c, fmt.Errorf("-lease must be at least 100ms")
	case c.cluster.Replicas < 1 || c.cluster.Replicas > 5:
		return c, fmt.Errorf("-nats-replicas must be 1 to 5")
	case c.cluster.AppendTimeout < 100*time.Millisecond || c.cluster.AppendTimeout >= storenats.DefaultDuplicates:
		return c, fmt.Errorf("-nats-append-timeout must be at least 100ms and under %v (the stream's duplicate window)", storenats.DefaultDuplicates)
	}
	c.rateLimit.PerSession, c.rateLimit.PerAddress = perSecond(c.rate), perSecond(c.ratePerAddress)
	proxies, err := transport.ParseCIDRs(c.trustedProxies)
	if err != nil {
		return c, fmt.Errorf("-trusted-proxies: %w", err)
	}
	c.transport.TrustedProxies = proxies
	return c, c.transport.Validate()
}

// perSecond turns a rate flag into a rate.Limit: 0 and +Inf are no limit.
func perSecond(r float64) rate.Limit {
	if r == 0 || math.IsInf(r, 1) {
		return rate.Inf
	}
	return rate.Limit(r)
}

// readAuthSecret sets c.auth.Secret from -auth-secret or -auth-secret-file.
// Its length is checked by middleware.Auth.
func (c *serveConfig) readAuthSecret() error {
	secret := c.authSecret
	if c.authSecretFile != "" {
		if secret != "" {
			return fmt.Errorf("-auth-secret and -auth-secret-file exclude each other")
		}
		b, err := os.ReadFile(c.authSecretFile)
		if err != nil {
			return fmt.Errorf("-auth-secret-file: %w", err)
		}
		if secret = strings.TrimRight(string(b), "\r\n"); secret == "" {
			return fmt.Errorf("-auth-secret-file %s is empty", c.authSecretFile)
		}
	}
	if secret == "" && (c.auth.Issuer != "" || c.auth.Audience != "") {
		return fmt.Errorf("-auth-issuer and -auth-audience need -auth-secret or -auth-secret-file")
	}
	c.auth.Secret = []byte(secret)
	return nil
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

// testHookServing, when set (by tests only), receives the server that
// serve started without a ready function (as Run does) once it accepts
// connections.
var testHookServing func(*server.Server)

func (p *program) runServe(ctx context.Context, args, env []string) error {
	return p.serve(ctx, args, env, nil)
}

// serve runs the chat server, with the program's middleware, until ctx
// ends. ready, when not nil, receives the listening address once the
// server accepts connections.
func (p *program) serve(ctx context.Context, args, env []string, ready func(net.Addr)) error {
	c, err := parseServe(args, env, p.flags...)
	if err != nil {
		return err
	}
	log, err := newLogger(c.logLevel, c.logFormat, p.errOut)
	if err != nil {
		return err
	}
	cfg, err := c.serverConfig(log)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	mw, stop, err := p.install(srv.Store())
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	defer stop() // after the server shut down
	srv.Use(mw...)
	if err := srv.Open(); err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	if ready != nil {
		ready(srv.Addr())
	} else if testHookServing != nil {
		testHookServing(srv)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownWithin)
	defer cancel()
	return srv.Shutdown(sctx)
}

// serverConfig is the server.Config that c describes, logging to log.
func (c serveConfig) serverConfig(log zerolog.Logger) (server.Config, error) {
	policy, err := file.ParseFsync(c.fsync)
	if err != nil {
		return server.Config{}, err
	}
	return server.Config{
		Transport:       c.transport,
		History:         c.history,
		Grace:           c.grace,
		Limits:          c.limits,
		RateLimit:       c.rateLimit,
		Auth:            c.auth,
		Data:            c.data,
		Fsync:           policy,
		SnapshotEvery:   c.snapshotEvery,
		Prune:           c.prune,
		DisableMetrics:  !c.metrics,
		ShutdownTimeout: c.shutdownWithin,
		Logger:          log,
		LoggerOptions:   middleware.LoggerOptions{Sample: c.logSample},
		Cluster:         c.cluster,
		Inspect:         c.inspect,
	}, nil
}

// newLogger returns the logger of -log-level and -log-format, writing to
// w; "auto" logs as console lines when w is a terminal.
func newLogger(level, format string, w io.Writer) (zerolog.Logger, error) {
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
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			out = zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly})
		}
	default:
		return zerolog.Nop(), fmt.Errorf("-log-format %q: want console, json or auto", format)
	}
	return out.Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
