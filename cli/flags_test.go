package cli

// Tests of `statecast serve`'s flags and STATECAST_* variables: each one
// sets the server.Config field it names, and values that cannot work are
// refused before anything starts. The server itself is tested in package
// server.

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
	"golang.org/x/time/rate"
)

const testSecret = "flag-secret-of-at-least-32-bytes-length"

// parsedServe is what serve would start a server with.
type parsedServe struct {
	cfg  server.Config
	logs string // the file the logger writes to
}

// line logs one line at warn level and returns it as written.
func (p parsedServe) line(t *testing.T) string {
	t.Helper()
	p.cfg.Logger.Warn().Msg("probe")
	b, err := os.ReadFile(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// parse turns args and env into the server.Config that serve would use.
func parse(t *testing.T, args, env []string) (parsedServe, error) {
	t.Helper()
	c, err := parseServe(args, env)
	if err != nil {
		return parsedServe{}, err
	}
	logs := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	log, err := newLogger(c.logLevel, c.logFormat, f)
	if err != nil {
		return parsedServe{}, err
	}
	cfg, err := c.serverConfig(log)
	return parsedServe{cfg: cfg, logs: logs}, err
}

// flagCase is one flag, a value for it, and what it must set.
type flagCase struct {
	flag, value string
	with        []string // other flags it needs
	get         func(*testing.T, parsedServe) any
	want        any
}

func cfgOf(f func(server.Config) any) func(*testing.T, parsedServe) any {
	return func(_ *testing.T, p parsedServe) any { return f(p.cfg) }
}

// flagCases covers every flag of serve.
func flagCases(t *testing.T) []flagCase {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := []string{"-auth-secret", testSecret}
	return []flagCase{
		{"addr", "127.0.0.1:4000", nil, cfgOf(func(c server.Config) any { return c.Transport.Addr }), "127.0.0.1:4000"},
		{"grace", "3s", nil, cfgOf(func(c server.Config) any { return c.Grace }), 3 * time.Second},
		{"history", "7", nil, cfgOf(func(c server.Config) any { return c.History }), 7},
		{"frame-limit", "1000", nil, cfgOf(func(c server.Config) any { return c.Transport.FrameLimit }), int64(1000)},
		{"allowed-origins", " a.example ,*.b.example,", nil, cfgOf(func(c server.Config) any { return c.Transport.AllowedOrigins }), []string{"a.example", "*.b.example"}},
		{"send-queue", "9", nil, cfgOf(func(c server.Config) any { return c.Transport.SendQueue }), 9},
		{"resume-window", "11", nil, cfgOf(func(c server.Config) any { return c.Transport.ResumeWindow }), 11},
		{"merge-window", "-1ms", nil, cfgOf(func(c server.Config) any { return c.Transport.MergeWindow }), -time.Millisecond},
		{"presence-window", "20ms", nil, cfgOf(func(c server.Config) any { return c.Transport.PresenceWindow }), 20 * time.Millisecond},
		{"ping-interval", "7s", nil, cfgOf(func(c server.Config) any { return c.Transport.PingInterval }), 7 * time.Second},
		{"ping-timeout", "3s", nil, cfgOf(func(c server.Config) any { return c.Transport.PingTimeout }), 3 * time.Second},
		{"max-message", "99", nil, cfgOf(func(c server.Config) any { return c.Limits.Message }), 99},
		{"rate", "2.5", nil, cfgOf(func(c server.Config) any { return c.RateLimit.PerSession }), rate.Limit(2.5)},
		{"rate-burst", "3", nil, cfgOf(func(c server.Config) any { return c.RateLimit.SessionBurst }), 3},
		{"rate-per-address", "4", nil, cfgOf(func(c server.Config) any { return c.RateLimit.PerAddress }), rate.Limit(4)},
		{"rate-address-burst", "5", nil, cfgOf(func(c server.Config) any { return c.RateLimit.AddressBurst }), 5},
		{"max-conns", "12", nil, cfgOf(func(c server.Config) any { return c.Transport.MaxConns }), 12},
		{"max-conns-per-address", "13", nil, cfgOf(func(c server.Config) any { return c.Transport.MaxConnsPerAddress }), 13},
		{"handshake-rate", "1.5", nil, cfgOf(func(c server.Config) any { return c.Transport.HandshakeRate }), 1.5},
		{"handshake-burst", "14", nil, cfgOf(func(c server.Config) any { return c.Transport.HandshakeBurst }), 14},
		{"handshake-wait", "2s", nil, cfgOf(func(c server.Config) any { return c.Transport.HandshakeWait }), 2 * time.Second},
		{"max-rooms", "14", nil, cfgOf(func(c server.Config) any { return c.Transport.MaxRooms }), 14},
		{"handshake-timeout", "3s", nil, cfgOf(func(c server.Config) any { return c.Transport.HandshakeTimeout }), 3 * time.Second},
		{"connect-timeout", "4s", nil, cfgOf(func(c server.Config) any { return c.Transport.ConnectTimeout }), 4 * time.Second},
		{"idle-room", "5m", nil, cfgOf(func(c server.Config) any { return c.Transport.IdleRoom }), 5 * time.Minute},
		{"trusted-proxies", "10.0.0.0/8, 192.0.2.1", nil, cfgOf(func(c server.Config) any { return c.Transport.TrustedProxies }),
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}},
		{"tls-cert", "server.crt", []string{"-tls-key", "server.key"}, cfgOf(func(c server.Config) any { return c.Transport.TLSCert }), "server.crt"},
		{"tls-key", "server.key", []string{"-tls-cert", "server.crt"}, cfgOf(func(c server.Config) any { return c.Transport.TLSKey }), "server.key"},
		{"http-redirect", ":80", []string{"-tls-cert", "server.crt", "-tls-key", "server.key"}, cfgOf(func(c server.Config) any { return c.Transport.HTTPRedirect }), ":80"},
		{"v1-frame-bytes", "4096", nil, cfgOf(func(c server.Config) any { return c.Transport.V1FrameBytes }), 4096},
		{"data", filepath.Join("some", "dir"), nil, cfgOf(func(c server.Config) any { return c.Data }), filepath.Join("some", "dir")},
		{"fsync", "interval", nil, cfgOf(func(c server.Config) any { return c.Fsync }), file.Interval},
		{"snapshot-every", "17", nil, cfgOf(func(c server.Config) any { return c.SnapshotEvery }), uint64(17)},
		{"prune", "true", nil, cfgOf(func(c server.Config) any { return c.Prune }), true},
		{"metrics", "false", nil, cfgOf(func(c server.Config) any { return c.DisableMetrics }), true},
		{"auth-secret", testSecret, nil, cfgOf(func(c server.Config) any { return string(c.Auth.Secret) }), testSecret},
		{"auth-secret-file", secretFile, nil, cfgOf(func(c server.Config) any { return string(c.Auth.Secret) }), testSecret},
		{"auth-issuer", "https://id.example", secret, cfgOf(func(c server.Config) any { return c.Auth.Issuer }), "https://id.example"},
		{"auth-audience", "chat", secret, cfgOf(func(c server.Config) any { return c.Auth.Audience }), "chat"},
		{"nats", "nats://a:4222,nats://b:4222", nil, cfgOf(func(c server.Config) any { return c.Cluster.NATS }), "nats://a:4222,nats://b:4222"},
		{"nats-stream", "chatlog", nil, cfgOf(func(c server.Config) any { return c.Cluster.Stream }), "chatlog"},
		{"nats-replicas", "3", nil, cfgOf(func(c server.Config) any { return c.Cluster.Replicas }), 3},
		{"node", "n1", nil, cfgOf(func(c server.Config) any { return c.Cluster.Node }), "n1"},
		{"lease", "2s", nil, cfgOf(func(c server.Config) any { return c.Cluster.Lease }), 2 * time.Second},
		{"nats-append-timeout", "6s", nil, cfgOf(func(c server.Config) any { return c.Cluster.AppendTimeout }), 6 * time.Second},
		{"inspect", "true", nil, cfgOf(func(c server.Config) any { return c.Inspect.Enabled }), true},
		{"inspect-token", "admin-token", nil, cfgOf(func(c server.Config) any { return c.Inspect.Token }), "admin-token"},
		{"log-level", "warn", nil, cfgOf(func(c server.Config) any { return c.Logger.GetLevel() }), zerolog.WarnLevel},
		{"log-format", "console", nil, func(t *testing.T, p parsedServe) any { return json.Valid([]byte(p.line(t))) }, false},
		{"log-sample", "5", nil, cfgOf(func(c server.Config) any { return c.LoggerOptions.Sample }), 5},
		{"shutdown-timeout", "4s", nil, cfgOf(func(c server.Config) any { return c.ShutdownTimeout }), 4 * time.Second},
	}
}

// TestServeFlagsSetConfig: every flag sets the field of server.Config it
// names, as a flag and as its STATECAST_ variable, and the table misses no
// flag.
func TestServeFlagsSetConfig(t *testing.T) {
	t.Parallel()
	cases := flagCases(t)
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.flag] = true
		t.Run(tc.flag, func(t *testing.T) {
			env := "STATECAST_" + strings.ToUpper(strings.ReplaceAll(tc.flag, "-", "_")) + "=" + tc.value
			for how, in := range map[string]struct{ args, env []string }{
				"flag":     {append([]string{"-" + tc.flag + "=" + tc.value}, tc.with...), nil},
				"variable": {tc.with, []string{env}},
			} {
				p, err := parse(t, in.args, in.env)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if got := tc.get(t, p); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s %s=%q: got %#v, want %#v", how, tc.flag, tc.value, got, tc.want)
				}
			}
		})
	}
	serveFlags(&serveConfig{}).VisitAll(func(f *flag.Flag) {
		if !tested[f.Name] {
			t.Errorf("flag -%s is not in flagCases", f.Name)
		}
	})
}

// TestServeDefaults: with no flags, serve's configuration is the documented
// one (and the server's zero values where they are the same).
func TestServeDefaults(t *testing.T) {
	t.Parallel()
	p, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.cfg.Logger = zerolog.Logger{}
	want := server.Config{
		Transport: transport.Config{
			Addr: ":3005", FrameLimit: 64 << 10, SendQueue: 1024, ResumeWindow: 4096,
			MergeWindow: transport.DefaultMergeWindow, PresenceWindow: transport.DefaultPresenceWindow, PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second,
			MaxConns: 100_000, MaxConnsPerAddress: 10_000, HandshakeRate: 200, HandshakeBurst: 2000,
			HandshakeWait: 10 * time.Second, V1FrameBytes: 1 << 20,
			MaxRooms: 10_000, HandshakeTimeout: 10 * time.Second, ConnectTimeout: 30 * time.Second, IdleRoom: 2 * time.Minute,
		},
		History:         chat.DefaultHistory,
		Grace:           middleware.DefaultGrace,
		Limits:          middleware.Limits{Message: 16384},
		RateLimit:       middleware.RateLimitOptions{PerSession: 10, SessionBurst: 20, PerAddress: rate.Inf},
		Auth:            middleware.AuthOptions{Secret: []byte{}},
		Data:            "./data",
		Fsync:           file.Always,
		SnapshotEvery:   store.DefaultSnapshotEvery,
		ShutdownTimeout: 10 * time.Second,
		Cluster:         server.Cluster{Stream: "statecast", Replicas: 1, Lease: server.DefaultLease, AppendTimeout: 15 * time.Second},
	}
	if !reflect.DeepEqual(p.cfg, want) {
		t.Fatalf("defaults:\n%+v\nwant\n%+v", p.cfg, want)
	}
	if c, err := parse(t, nil, nil); err != nil || c.cfg.Logger.GetLevel() != zerolog.InfoLevel || !json.Valid([]byte(c.line(t))) {
		t.Fatalf("default logger: level %v, err %v; want info, JSON off a terminal", c.cfg.Logger.GetLevel(), err)
	}
}

// TestServeFlagBeatsVariable: a flag on the command line wins over its
// variable; a 0 rate is no limit.
func TestServeFlagBeatsVariable(t *testing.T) {
	t.Parallel()
	p, err := parse(t, []string{"-rate", "0", "-rate-address-burst", "7", "-auth-secret", testSecret + "!"},
		[]string{"STATECAST_RATE_PER_ADDRESS=2.5", "STATECAST_RATE=3", "STATECAST_AUTH_SECRET=" + testSecret, "OTHER_GRACE=1s"})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.cfg.RateLimit; r.PerSession != rate.Inf || r.PerAddress != 2.5 || r.AddressBurst != 7 {
		t.Fatalf("-rate 0 and variables: %+v", r)
	}
	if got := string(p.cfg.Auth.Secret); got != testSecret+"!" {
		t.Fatalf("secret %q: want the flag's", got)
	}
	if p.cfg.Grace != middleware.DefaultGrace {
		t.Fatalf("grace %v: a variable without the STATECAST_ prefix must not count", p.cfg.Grace)
	}
	if p, err = parse(t, []string{"-rate-per-address", "+Inf"}, nil); err != nil || p.cfg.RateLimit.PerAddress != rate.Inf {
		t.Fatalf("-rate-per-address +Inf: %v, %v; want no limit", p.cfg.RateLimit.PerAddress, err)
	}
}
