package middleware

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// DispatchBuckets are the upper bounds, in seconds, of the dispatch latency
// histogram: 10µs to 1s in 1-2.5-5 steps, so that both an in-memory store
// (microseconds) and an fsync per batch on a slow disk (tens of
// milliseconds) fall well inside the range.
var DispatchBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1}

// Metrics counts and times the actions that pass it, as Prometheus
// collectors. Register it on a registry (it is a prometheus.Collector) and
// install its Middleware:
//
//   - statecast_actions_total{type}: actions applied, by type;
//   - statecast_actions_rejected_total{code}: actions the rest of the chain
//     or the store refused, by error code (actions.AsError: errors that
//     are not an *actions.Error count as "internal");
//   - statecast_dispatch_duration_seconds{type}: how long the rest of the
//     chain took, applied or rejected: the later middleware, the log append
//     (and its fsync) and the reducer.
//
// It does not see frames the transport refuses before dispatching them
// (malformed JSON, a message before connecting), nor panics: those are
// turned into errors by Recover, which is outside it. Types label the
// series, so they must come from code, never from clients (the transport
// maps client events to a fixed set of types).
//
// Put it right after Logger, so that it times and counts everything that
// may reject (rate limit, auth, validate) as well as the store. Per action
// it costs one lock-free map lookup, a counter increment and a histogram
// observation; no locks.
type Metrics struct {
	applied  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	took     *prometheus.HistogramVec

	byType atomic.Pointer[map[string]typeMetrics] // copied on write
	mu     sync.Mutex                             // serializes writers of byType
}

// typeMetrics are the series of one action type, resolved once.
type typeMetrics struct {
	applied prometheus.Counter
	took    prometheus.Observer
}

// NewMetrics returns the collectors, all at zero.
func NewMetrics() *Metrics {
	m := &Metrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statecast_actions_total",
			Help: "Actions applied to the state, by type.",
		}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statecast_actions_rejected_total",
			Help: "Actions refused by the middleware chain or the store, by error code.",
		}, []string{"code"}),
		took: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "statecast_dispatch_duration_seconds",
			Help:    "Time from the metrics middleware to the action's result (later middleware, log append, reducer), by type.",
			Buckets: DispatchBuckets,
		}, []string{"type"}),
	}
	m.byType.Store(&map[string]typeMetrics{})
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.applied.Describe(ch)
	m.rejected.Describe(ch)
	m.took.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.applied.Collect(ch)
	m.rejected.Collect(ch)
	m.took.Collect(ch)
}

// Middleware returns the middleware that updates the collectors.
func (m *Metrics) Middleware() store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			start := time.Now()
			typ := a.Type
			err := next(ctx, a)
			tm := m.forType(typ)
			tm.took.Observe(time.Since(start).Seconds())
			if err != nil {
				m.rejected.WithLabelValues(actions.AsError(err).Code).Inc()
				return err
			}
			tm.applied.Inc()
			return nil
		}
	}
}

// forType returns the series of typ, creating them on first use.
func (m *Metrics) forType(typ string) typeMetrics {
	if tm, ok := (*m.byType.Load())[typ]; ok {
		return tm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byType.Load()
	if tm, ok := old[typ]; ok {
		return tm
	}
	tm := typeMetrics{applied: m.applied.WithLabelValues(typ), took: m.took.WithLabelValues(typ)}
	next := maps.Clone(old)
	next[typ] = tm
	m.byType.Store(&next)
	return tm
}
