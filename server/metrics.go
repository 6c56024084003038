package server

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/transport"
)

// storageBuckets are the upper bounds, in seconds, of the log append,
// fsync and snapshot histograms: 25µs to 10s in 1-2.5-5 steps.
var storageBuckets = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// metrics are a server's Prometheus collectors, on a registry of its own
// (never the global default one), so that several servers in one process
// do not clash. A nil *metrics is a server without metrics: every method
// then hands back what it was given, or a pass-through.
type metrics struct {
	reg      *prometheus.Registry
	dispatch *middleware.Metrics

	connsOpen   prometheus.Gauge
	connsTotal  prometheus.Counter
	closes      *prometheus.CounterVec
	frameErrors *prometheus.CounterVec
	refusals    *prometheus.CounterVec

	appendTook, appendBatch, fsyncTook, snapTook prometheus.Histogram
	snapFailures                                 prometheus.Counter
	logUnavailable                               prometheus.Gauge
	logFailures                                  prometheus.Counter
}

// newMetrics returns the collectors, registered, or nil when disabled.
func newMetrics(disabled bool) *metrics {
	if disabled {
		return nil
	}
	m := &metrics{reg: prometheus.NewRegistry(), dispatch: middleware.NewMetrics()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) } // only fails on a name taken twice: a bug here
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(m.dispatch)
	f(buildInfo(Version()))
	m.connsOpen = gauge("statecast_connections_open", "Sockets open now.")
	m.connsTotal = counter("statecast_connections_total", "Sockets accepted.")
	m.closes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statecast_socket_closes_total",
		Help: "Sockets closed, by close code and by the side that chose it (server or client; 1006: no close frame)."},
		[]string{"code", "by"})
	m.frameErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statecast_frames_rejected_total",
		Help: "Error frames sent to clients (frames the decoder refused, actions the chain rejected), by code."},
		[]string{"code"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statecast_handshakes_refused_total",
		Help: "WebSocket upgrades refused at the door, by why: with 503, conns (total cap), address (cap per address), handshakes (an address's handshake budget); with 403, rooms (a new room beyond -max-rooms)."},
		[]string{"why"})
	m.appendTook = histogram("statecast_log_append_duration_seconds", "Time to append one batch to the action log, from its write to its fsync.", storageBuckets)
	m.appendBatch = histogram("statecast_log_append_batch_size", "Actions per log append (group commit).", prometheus.ExponentialBuckets(1, 2, 10))
	m.fsyncTook = histogram("statecast_log_fsync_duration_seconds", "Time of one sync (fdatasync after appends, fsync at a roll) of the action log's active segment.", storageBuckets)
	m.snapTook = histogram("statecast_snapshot_duration_seconds", "Time to write one snapshot (after encoding it), successful or not.", storageBuckets)
	m.snapFailures = counter("statecast_snapshot_failures_total", "Snapshots that could not be written.")
	m.logUnavailable = gauge("statecast_log_unavailable", "1 while the action log refuses appends because its storage failed (a full disk, an I/O error), until it heals; else 0.")
	m.logFailures = counter("statecast_log_failures_total", "Times the action log stopped taking appends after a failed write or fsync.")
	for _, c := range []prometheus.Collector{m.connsOpen, m.connsTotal, m.closes, m.frameErrors, m.refusals,
		m.appendTook, m.appendBatch, m.fsyncTook, m.snapTook, m.snapFailures, m.logUnavailable, m.logFailures} {
		f(c)
	}
	return m
}

// buildInfo is the statecast_build_info gauge: always 1, with the
// running build in its labels.
func buildInfo(b BuildInfo) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "statecast_build_info",
		Help:        "Always 1; the labels name the running build: module version, VCS commit and its time (empty when unknown).",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "time": b.Time}})
	g.Set(1)
	return g
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}

// Metrics returns the server's Prometheus registry, served at /metrics,
// so that middleware of your own can register collectors on it; nil when
// Config.DisableMetrics is set.
func (s *Server) Metrics() *prometheus.Registry {
	if s.metrics == nil {
		return nil
	}
	return s.metrics.reg
}

// middleware returns the Metrics middleware, or a pass-through.
func (m *metrics) middleware() store.Middleware {
	if m == nil {
		return func(next store.Dispatch) store.Dispatch { return next }
	}
	return m.dispatch.Middleware()
}

// transport returns cfg with the observer and the /metrics handler set.
func (m *metrics) transport(cfg transport.Config) transport.Config {
	if m != nil {
		cfg.Observer = m
		cfg.Metrics = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	}
	return cfg
}

// watch exposes the transport's frame counters, read at each scrape.
func (m *metrics) watch(web *transport.Server) {
	if m == nil {
		return
	}
	stat := func(get func(transport.Stats) uint64) func() float64 {
		return func() float64 { return float64(get(web.Stats())) }
	}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "statecast_frames_queued_total",
			Help: "Frames queued for sockets: one per recipient of each event."},
			stat(func(s transport.Stats) uint64 { return s.FramesQueued })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "statecast_send_queue_frames",
			Help: "Frames waiting in all the sockets' send queues now."},
			stat(func(s transport.Stats) uint64 { return s.FramesWaiting })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "statecast_send_queue_drops_total",
			Help: "Sockets closed with 1013 because their send queue was full."},
			stat(func(s transport.Stats) uint64 { return s.SlowDrops })),
	)
	m.watchBounds(web)
}

// watchBounds exposes what the transport's bounds hold and refuse.
func (m *metrics) watchBounds(web *transport.Server) {
	bound := func(get func(transport.Bounds) float64) func() float64 {
		return func() float64 { return get(web.Bounds()) }
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "statecast_rooms",
			Help: "Rooms the state holds (never removed; capped by -max-rooms)."},
			bound(func(b transport.Bounds) float64 { return float64(b.Rooms) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "statecast_room_feeds",
			Help: "Rooms whose encoded messages and recent changes the server keeps in memory."},
			bound(func(b transport.Bounds) float64 { return float64(b.RoomFeeds) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "statecast_room_feeds_dropped_total",
			Help: "Room feeds dropped from memory after the room had no socket for -idle-room."},
			bound(func(b transport.Bounds) float64 { return float64(b.RoomFeedsDropped) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "statecast_connect_timeouts_total",
			Help: "Sockets closed with 1008 for sending no connecting within -connect-timeout."},
			bound(func(b transport.Bounds) float64 { return float64(b.ConnectTimeouts) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "statecast_handshake_timeouts_total",
			Help: "Connections closed for sending no complete request within -handshake-timeout."},
			bound(func(b transport.Bounds) float64 { return float64(b.HandshakeTimeouts) })),
	)
}

// SocketOpened implements transport.Observer.
func (m *metrics) SocketOpened() {
	m.connsOpen.Inc()
	m.connsTotal.Inc()
}

// SocketClosed implements transport.Observer.
// The close is counted before the gauge drops, so that a scrape that sees
// the socket gone also sees why.
func (m *metrics) SocketClosed(code int, byServer bool) {
	by := "client"
	if byServer {
		by = "server"
	}
	m.closes.WithLabelValues(strconv.Itoa(code), by).Inc()
	m.connsOpen.Dec()
}

// FrameRejected implements transport.Observer.
func (m *metrics) FrameRejected(code string) { m.frameErrors.WithLabelValues(code).Inc() }

// HandshakeRefused implements transport.Observer.
func (m *metrics) HandshakeRefused(why string) { m.refusals.WithLabelValues(why).Inc() }

// onSync returns the fsync hook of the file log.
func (m *metrics) onSync() func(time.Duration) {
	if m == nil {
		return nil
	}
	return func(d time.Duration) { m.fsyncTook.Observe(d.Seconds()) }
}

// onHealth returns the file log's health hook: the storage failure
// metrics.
func (m *metrics) onHealth() func(error) {
	if m == nil {
		return nil
	}
	return func(err error) {
		if err != nil {
			m.logUnavailable.Set(1)
			m.logFailures.Inc()
		} else {
			m.logUnavailable.Set(0)
		}
	}
}

// log returns l with its appends timed.
func (m *metrics) log(l store.Log) store.Log {
	if m == nil {
		return l
	}
	t := timedLog{Log: l, m: m}
	if f, ok := l.(store.Follower); ok {
		return timedFollower{timedLog: t, follow: f.Follow}
	}
	if p, ok := l.(store.Pipeliner); ok {
		return timedPipeliner{timedLog: t, write: p.Write}
	}
	return t
}

// timedPipeliner is a timedLog that keeps the Pipeliner's Write, so that a
// store on it still pipelines its commits. A batch's time runs from its
// Write to the return of its durable.
type timedPipeliner struct {
	timedLog
	write func(ctx context.Context, batch []*actions.Action) (func() error, error)
}

func (l timedPipeliner) Write(ctx context.Context, batch []*actions.Action) (func() error, error) {
	start := time.Now()
	durable, err := l.write(ctx, batch)
	switch {
	case err != nil:
		return nil, err
	case durable == nil:
		l.observe(start, batch, nil)
		return nil, nil
	}
	return func() error {
		err := durable()
		l.observe(start, batch, err)
		return err
	}, nil
}

// timedFollower is a timedLog that keeps the Follower's Follow, so that a
// store on it still runs in follow mode.
type timedFollower struct {
	timedLog
	follow func(ctx context.Context, from uint64, fn func(*actions.Action) error) error
}

func (l timedFollower) Follow(ctx context.Context, from uint64, fn func(*actions.Action) error) error {
	return l.follow(ctx, from, fn)
}

// snapshots returns s with its saves timed and failures counted.
func (m *metrics) snapshots(s store.Snapshots) store.Snapshots {
	if m == nil {
		return s
	}
	return timedSnapshots{Snapshots: s, m: m}
}

// timedLog is a store.Log whose Append is timed; the rest passes through.
type timedLog struct {
	store.Log
	m *metrics
}

func (l timedLog) Append(ctx context.Context, batch []*actions.Action) error {
	start := time.Now()
	err := l.Log.Append(ctx, batch)
	l.observe(start, batch, err)
	return err
}

// observe records the time and size of an append that began at start.
func (l timedLog) observe(start time.Time, batch []*actions.Action, err error) {
	l.m.appendTook.Observe(time.Since(start).Seconds())
	if err == nil && len(batch) > 0 {
		l.m.appendBatch.Observe(float64(len(batch)))
	}
}

// timedSnapshots is a store.Snapshots whose SaveSnapshot is timed.
type timedSnapshots struct {
	store.Snapshots
	m *metrics
}

func (s timedSnapshots) SaveSnapshot(seq uint64, data []byte) error {
	start := time.Now()
	err := s.Snapshots.SaveSnapshot(seq, data)
	s.m.snapTook.Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.snapFailures.Inc()
	}
	return err
}
