package transport

import (
	"fmt"
	"net/http"
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
	defDur(&c.PingInterval, 20*time.Second)
	defDur(&c.PingTimeout, 10*time.Second)
	defDur(&c.AbuseWindow, 10*time.Second)
	return c
}

// DefaultMergeWindow is Config.MergeWindow's default.
const DefaultMergeWindow = 2 * time.Millisecond

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	for _, p := range c.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("allowed origin %q: %w", p, err)
		}
	}
	return nil
}
