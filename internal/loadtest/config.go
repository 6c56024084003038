package loadtest

import (
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// config is everything the command line can say.
type config struct {
	mode        string
	url         string
	dialect     string
	clients     int
	writers     int
	messages    int
	rate        float64
	inflight    int
	concurrency int
	hold        time.Duration
	historyFill int
	slow        int
	flood       int
	size        int
	rooms       int
	pid         int
	timeout     time.Duration
	json        bool
	stall       time.Duration
	// quiet is how long no frame may arrive before the room counts as
	// settled after the clients connected (joined events drained).
	quiet time.Duration
	// soak mode (see soak.go)
	soakFor time.Duration
	sample  time.Duration
	out     string
	churn   int
}

func (c config) v2() bool { return c.dialect == "v2" }

const usage = `usage: statecast-load [flags]   (or: statecast bench [flags])

Drives a chat server that speaks the v1 (seed) or v2 dialect, or a
Centrifugo server (-dialect centrifugo, configured by centrifugo.json beside
the tool's source), on this
machine only (127.0.0.0/8, ::1, localhost), and reports its throughput,
latency, losses and CPU. Modes:

  fanout   -clients N connect, -writers W of them post -messages M in all;
           every client must receive every message (N×M deliveries)
  history  the same, after one writer pre-filled the room with
           -history-fill H messages (default 1000)
  storm    -clients C connect as fast as -concurrency allows, stay for
           -hold, then close: handshakes/s and, with -pid, server RSS
           per idle connection
  soak     for -minutes: -clients residents (-writers of them posting
           -rate msgs/s, 20 by default) that drop and resume, -churn
           users that connect, reload and leave, -slow readers; samples
           the server's RSS, goroutines, fds and queues every -sample
           into -out.csv, -out.json and a chart, -out.svg

-slow N adds N clients that stop reading after connecting; the fan-out then
runs twice, without and with them, and reports whether they were closed
with 1013. -flood N runs it twice too, the second time while N sockets of
the same address post as fast as they can in a room of their own, coming
back whenever the server closes them: compare the two runs' latencies.

flags:`

// parseArgs reads the command line into a config, applies the defaults
// that depend on other flags, and rejects what cannot run. Its errors
// match ErrUsage.
func parseArgs(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("statecast-load", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.mode, "mode", "fanout", "fanout, history, storm or soak")
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:3005/chat", "the room's WebSocket `URL`; its host must be a loopback address or localhost")
	fs.StringVar(&c.dialect, "dialect", "v1", "v1 (seed events), v2 (subprotocol statecast.v2: snapshot and patches), or centrifugo (Centrifugo's JSON protocol; the URL's ?channel= names the channel)")
	fs.IntVar(&c.clients, "clients", 100, "connected clients (storm: connections to open)")
	fs.IntVar(&c.writers, "writers", 10, "how many of the clients post messages")
	fs.IntVar(&c.messages, "messages", 1000, "messages posted in all, shared by the writers")
	fs.Float64Var(&c.rate, "rate", 0, "total `msgs/s`, sent on a fixed schedule; 0: each writer posts its next message once the server delivered its previous one (see -inflight)")
	fs.IntVar(&c.inflight, "inflight", 0, "messages a writer may have sent and not yet seen delivered; defaults to 1 without -rate, unlimited with it")
	fs.IntVar(&c.concurrency, "concurrency", 200, "connections being opened at once")
	fs.DurationVar(&c.hold, "hold", 2*time.Second, "storm: how long the connections stay open once all are connected")
	fs.IntVar(&c.historyFill, "history-fill", 0, "messages one writer posts before the clients connect (history mode: defaults to 1000)")
	fs.IntVar(&c.slow, "slow", 0, "extra clients that stop reading once connected")
	fs.IntVar(&c.flood, "flood", 0, "sockets that flood the server with writes during a second run (not with -slow)")
	fs.IntVar(&c.size, "size", 0, "pad each message text to this many `bytes`")
	fs.IntVar(&c.rooms, "rooms", 1, "storm: spread the connections over this many rooms (/chat/bench-0 …, or Centrifugo channels chat-0 …; not the seed, which serves /chat alone)")
	fs.IntVar(&c.pid, "pid", 0, "the server's process id, to report its CPU time and memory from /proc")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "stop the run after this long, whatever is left")
	fs.DurationVar(&c.stall, "stall", 10*time.Second, "end a fan-out run when no client received a frame for this long (messages were lost)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object instead of the summary")
	minutes := fs.Float64("minutes", 15, "soak: how long to run, in minutes")
	fs.DurationVar(&c.sample, "sample", 5*time.Second, "soak: how often to sample the server")
	fs.StringVar(&c.out, "out", "soak", "soak: the files' `prefix` (prefix.csv, prefix.json, prefix.svg)")
	fs.IntVar(&c.churn, "churn", 20, "soak: users that connect, stay a second or two, then reload or leave, over and over")
	c.quiet = 200 * time.Millisecond
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, err
		}
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.mode == "history" && c.historyFill == 0 {
		c.historyFill = 1000
	}
	if c.inflight == 0 && c.rate == 0 {
		c.inflight = 1
	}
	c.soakFor = time.Duration(*minutes * float64(time.Minute))
	if c.mode == "soak" && c.rate == 0 {
		c.rate = 20
	}
	if err := checkLoopback(c.url); err != nil {
		return c, usageError{err}
	}
	switch {
	case c.mode != "fanout" && c.mode != "history" && c.mode != "storm" && c.mode != "soak":
		return c, usageErrorf("-mode %q: want fanout, history, storm or soak", c.mode)
	case c.mode == "soak" && (c.dialect == "centrifugo" || c.soakFor <= 0 || c.sample <= 0 || c.churn < 0):
		return c, usageErrorf("soak: statecast only, -minutes and -sample positive, -churn not negative")
	case c.dialect != "v1" && c.dialect != "v2" && c.dialect != "centrifugo":
		return c, usageErrorf("-dialect %q: want v1, v2 or centrifugo", c.dialect)
	case c.dialect == "centrifugo" && (c.mode == "history" || c.historyFill > 0 || c.flood > 0):
		return c, usageErrorf("-dialect centrifugo: no history fill and no flood")
	case c.clients < 1:
		return c, usageErrorf("-clients must be at least 1")
	case c.mode != "storm" && (c.writers < 1 || c.writers > c.clients):
		return c, usageErrorf("-writers must be between 1 and -clients")
	case c.mode != "storm" && c.mode != "soak" && c.messages < c.writers:
		return c, usageErrorf("-messages must be at least -writers")
	case c.rate < 0 || c.inflight < 0 || c.historyFill < 0 || c.slow < 0 || c.flood < 0 || c.size < 0 || c.pid < 0:
		return c, usageErrorf("-rate, -inflight, -history-fill, -slow, -flood, -size and -pid cannot be negative")
	case c.slow > 0 && c.flood > 0:
		return c, usageErrorf("-slow and -flood exclude each other")
	case c.concurrency < 1:
		return c, usageErrorf("-concurrency must be at least 1")
	case c.rooms < 1 || c.rooms > 1 && c.mode != "storm" && c.mode != "soak":
		return c, usageErrorf("-rooms must be at least 1, and more only in storm and soak modes")
	case c.timeout <= 0 || c.hold < 0 || c.stall <= 0:
		return c, usageErrorf("-timeout and -stall must be positive, -hold not negative")
	}
	return c, nil
}

// checkLoopback refuses any target but this machine: load goes only to
// loopback addresses. Names other than localhost are refused rather than
// resolved; the dialer checks the address it reached as well.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("-url %q: want a ws:// or wss:// URL", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: the load test only targets this machine (127.0.0.0/8, ::1 or localhost), not %q", raw, host)
}
