package transport

import (
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"time"
)

// Config configures the server. Zero values mean the documented defaults.
type Config struct {
	// Addr is the TCP address to listen on. Defaults to ":3005".
	Addr string
	// FrameLimit is the largest client frame in bytes; a larger one closes
	// the socket with 1009. Defaults to 64 KiB.
	FrameLimit int64
	// AllowedOrigins are extra browser origins to accept, as path.Match
	// patterns on the origin's host[:port] (for example "*.example.com" or
	// "chat.example.com:8443"), or "null" for Origin: null. Same-origin and
	// loopback origins are always accepted.
	AllowedOrigins []string
	// SendQueue is how many frames may wait for one slow socket before it is
	// closed with 1013. Defaults to 1024.
	SendQueue int
	// SendQueueBytes bounds the bytes waiting for one socket the same way.
	// Defaults to 64 MiB.
	SendQueueBytes int
	// WriteTimeout bounds how long a socket may take to accept the frames
	// the writer took from its queue at once; a slower peer is dropped.
	// Defaults to 10s.
	WriteTimeout time.Duration
	// MergeWindow is the least time between two writes to one v2 socket:
	// changes that come sooner wait for the rest of it and go out merged
	// into one patch. A socket written to less often gets each change at
	// once. Under load this trades at most that much latency for far fewer
	// frames and system calls. Defaults to 2ms; negative turns it off.
	MergeWindow time.Duration
	// PresenceWindow is the same for changes of the user list alone: a
	// socket whose queue holds nothing else (v2 patches, v1 `joined` and
	// `disconnected`) waits this long since its last write, so that a crowd
	// joining one room reaches each member in a few writes rather than one
	// per join (in v2, in a few patches). A message, an ack or the
	// socket's own change queued behind them ends the wait at MergeWindow
	// (v1: at once). An idle socket still gets a change at once. Defaults
	// to 50ms; negative (or MergeWindow off) turns it off.
	PresenceWindow time.Duration
	// PingInterval is how often an idle socket is pinged. Defaults to 20s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the peer counts as dead.
	// Defaults to 10s.
	PingTimeout time.Duration
	// ResumeWindow is how many of a room's latest changes the server keeps
	// for v2 clients that resume; one that missed more gets a snapshot.
	// Defaults to 4096.
	ResumeWindow int
	// ResumeBytes bounds the same changes by their size, per room, so that
	// busy rooms keep memory bounded. Defaults to 1 MiB.
	ResumeBytes int
	// AbuseLimit is how many bad frames a socket may send within AbuseWindow
	// before it is closed with 1008. Defaults to 10 within 10s.
	AbuseLimit  int
	AbuseWindow time.Duration
	// Observer is told when sockets open and close and when error frames
	// are sent, for metrics. Defaults to none.
	Observer Observer
	// Metrics, when set, is served at GET /metrics. Defaults to none.
	Metrics http.Handler
	// Ready, if set, must also hold for /readyz to answer 200: a node of a
	// cluster reports there whether it reaches the cluster. Defaults to
	// none.
	Ready func() error
	// V1FrameBytes bounds the messages of one v1 `messageWritten` (and of
	// `connected`'s messagesList), which carries the room's whole window:
	// the oldest retained messages that do not fit are left out of v1
	// frames (never out of the state, nor v2). One longer message alone is
	// still sent. Defaults to 1 MiB.
	V1FrameBytes int
	// MaxConns is the most sockets open at once; an upgrade beyond it is
	// refused with 503 and Retry-After. Defaults to 100,000.
	MaxConns int
	// MaxConnsPerAddress is the most sockets open at once from one client
	// address (an IPv4 address, or an IPv6 /64), counting handshakes under
	// way. Thousands of users can share one address (a school or an office
	// behind one NAT); size it for them. Defaults to 10,000.
	MaxConnsPerAddress int
	// HandshakeRate and HandshakeBurst are one client address's handshake
	// budget: upgrades per second in the long run, and at once after a
	// quiet spell. An upgrade over the budget waits for its turn, up to
	// HandshakeWait; one that would wait longer is refused with 503 and
	// Retry-After. Default to 200/s, bursts of 2,000, waits of up to 10s:
	// a thousand users behind one address reconnecting at once after a
	// restart are all let in without a retry.
	HandshakeRate  float64
	HandshakeBurst int
	HandshakeWait  time.Duration
	// MaxRooms is the most rooms the state may hold: rooms are never
	// removed from it, and any client may name a new one. Once it holds
	// that many, an upgrade to a room it does not hold is refused with 403
	// (not 503: the refusal lasts until the operator raises the cap, so a
	// retry would not help); the rooms that exist stay reachable.
	// Defaults to 10,000.
	MaxRooms int
	// HandshakeTimeout bounds how long a connection may take to send its
	// request headers (the TLS handshake included); a slower one is closed
	// without an answer. Defaults to 10s.
	HandshakeTimeout time.Duration
	// ConnectTimeout is how long a socket may stay open without sending
	// `connecting`; then it is closed with 1008. Defaults to 30s.
	ConnectTimeout time.Duration
	// IdleRoom is how long a room may have no socket before the hub drops
	// what it keeps in memory for it (the messages encoded for each
	// dialect, the recent changes for resuming clients). The room's
	// history stays in the state and the log; its next socket gets them
	// rebuilt from the state, and a resume from before that gets a
	// snapshot. Defaults to 2m.
	IdleRoom time.Duration
	// TrustedProxies are the networks of the reverse proxies and load
	// balancers in front of the server. From a peer inside one of them, the
	// client's address is the rightmost hop of X-Forwarded-For (else of
	// Forwarded) that is not itself a trusted proxy, and X-Forwarded-Proto
	// and X-Forwarded-Host (or Forwarded's proto and host) name the scheme
	// and host the browser used, for the origin check. From any other peer
	// these headers are ignored. Defaults to none.
	TrustedProxies []netip.Prefix
	// TLSCert and TLSKey, when set, are the PEM files of the certificate
	// (its chain after it) and its private key: the server then speaks
	// HTTPS and wss only, with Go's TLS defaults (TLS 1.2 and up). The
	// files are read again when they change, at most once a second, for
	// the handshakes after that; open sockets keep their connection. A
	// pair that fails to load is logged and the previous one stays in use.
	// Defaults to none: plain HTTP and ws.
	TLSCert, TLSKey string
	// HTTPRedirect, with TLS, is an address (such as ":80") where plain
	// HTTP requests are answered with a permanent redirect to the same URL
	// over HTTPS. Defaults to none.
	HTTPRedirect string
	// Routes are more HTTP handlers to serve, by http.ServeMux pattern
	// (for example "/inspect/"), beside the chat's own routes. Defaults
	// to none.
	Routes map[string]http.Handler
	// Node is this server's id in a cluster: the sockets it opens carry it
	// in the state (actions.Open), so that the others can close them when
	// this node is gone. Empty on a single server.
	Node string
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Addr == "" {
		c.Addr = ":3005"
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.FrameLimit <= 0 {
		c.FrameLimit = 64 << 10
	}
	def(&c.SendQueue, 1024)
	def(&c.ResumeWindow, 4096)
	def(&c.ResumeBytes, 1<<20)
	def(&c.SendQueueBytes, 64<<20)
	def(&c.AbuseLimit, 10)
	defDur(&c.WriteTimeout, 10*time.Second)
	if c.MergeWindow == 0 {
		c.MergeWindow = DefaultMergeWindow
	}
	if c.PresenceWindow == 0 {
		c.PresenceWindow = DefaultPresenceWindow
	}
	defDur(&c.PingInterval, 20*time.Second)
	defDur(&c.PingTimeout, 10*time.Second)
	defDur(&c.AbuseWindow, 10*time.Second)
	def(&c.V1FrameBytes, 1<<20)
	def(&c.MaxConns, 100_000)
	def(&c.MaxConnsPerAddress, 10_000)
	if c.HandshakeRate <= 0 {
		c.HandshakeRate = 200
	}
	def(&c.HandshakeBurst, 2_000)
	defDur(&c.HandshakeWait, 10*time.Second)
	def(&c.MaxRooms, 10_000)
	defDur(&c.HandshakeTimeout, 10*time.Second)
	defDur(&c.ConnectTimeout, 30*time.Second)
	defDur(&c.IdleRoom, 2*time.Minute)
	return c
}

// DefaultMergeWindow is Config.MergeWindow's default.
const DefaultMergeWindow = 2 * time.Millisecond

// DefaultPresenceWindow is Config.PresenceWindow's default.
const DefaultPresenceWindow = 50 * time.Millisecond

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("TLS needs both a certificate and a key file")
	}
	if c.HTTPRedirect != "" && c.TLSCert == "" {
		return fmt.Errorf("a redirect to HTTPS needs a TLS certificate and key")
	}
	for _, p := range c.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("allowed origin %q: %w", p, err)
		}
	}
	return nil
}
