package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// benchReport is the result of one `statecast bench`, printed as text or
// (with -json) as one JSON object.
type benchReport struct {
	Mode     string         `json:"mode"`
	Dialect  string         `json:"dialect"`
	URL      string         `json:"url"`
	Clients  int            `json:"clients"`
	Writers  int            `json:"writers,omitempty"`
	Messages int            `json:"messages,omitempty"`
	Rate     float64        `json:"rate,omitempty"`
	Inflight int            `json:"inflight,omitempty"`
	Size     int            `json:"size,omitempty"`
	PID      int            `json:"pid,omitempty"`
	Fill     *fillReport    `json:"fill,omitempty"`
	Connect  *connectReport `json:"connect,omitempty"`
	Runs     []*runReport   `json:"runs,omitempty"`
	Storm    *stormReport   `json:"storm,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// fillReport is the history pre-fill of -history-fill.
type fillReport struct {
	Messages  int     `json:"messages"`
	Delivered int     `json:"delivered"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// connectReport is how long the fan-out clients took to connect, and the
// room to settle (no frame for a while: joined events drained).
type connectReport struct {
	Seconds       float64 `json:"seconds"`
	SettleSeconds float64 `json:"settle_seconds"`
}

// runReport is one fan-out run, from the first send to the last delivery.
type runReport struct {
	Name             string           `json:"name"`
	TimedOut         bool             `json:"timed_out,omitempty"`
	Stalled          bool             `json:"stalled,omitempty"`
	Seconds          float64          `json:"seconds"`      // first send to last delivery
	WallSeconds      float64          `json:"wall_seconds"` // first send to the end of the run: the CPU figures' window
	Expected         int64            `json:"expected"`
	Deliveries       int64            `json:"deliveries"`
	Lost             int64            `json:"lost"`
	Duplicates       int64            `json:"duplicates"`
	Reordered        int64            `json:"reordered"`
	Rejected         int64            `json:"rejected_writes"`
	Foreign          int64            `json:"foreign_messages,omitempty"`
	SlowPathFrames   int64            `json:"slow_path_frames"`
	SeqRegressions   int64            `json:"seq_regressions,omitempty"`
	Resyncs          int64            `json:"resyncs,omitempty"`
	Frames           int64            `json:"frames"`
	DeliveriesPerSec float64          `json:"deliveries_per_sec"`
	Latency          latencyReport    `json:"latency_ms"`
	Loadgen          cpuReport        `json:"loadgen_cpu"`
	OtherCPU         float64          `json:"other_cpu_s"` // used by other programs during the run
	Server           *serverReport    `json:"server,omitempty"`
	SlowReaders      []slowReport     `json:"slow_readers,omitempty"`
	Errors           map[string]int64 `json:"errors,omitempty"`
	Disconnected     int64            `json:"sockets_lost,omitempty"`
	warning          string
}

// latencyReport holds percentiles in milliseconds.
type latencyReport struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// cpuReport is CPU time in seconds.
type cpuReport struct {
	User  float64 `json:"user_s"`
	Sys   float64 `json:"sys_s"`
	Total float64 `json:"total_s"`
}

// serverReport is what /proc told of the server (-pid) over a run.
type serverReport struct {
	CPU              float64 `json:"cpu_s"`
	CPUPerDeliveryUs float64 `json:"cpu_per_delivery_us,omitempty"`
	CPUPerMessageUs  float64 `json:"cpu_per_message_us,omitempty"`
	RSSBeforeKB      int64   `json:"rss_before_kb"`
	RSSAfterKB       int64   `json:"rss_after_kb"`
	RSSPeakKB        int64   `json:"rss_peak_kb"`
	Error            string  `json:"error,omitempty"`
}

// slowReport tells what became of a client that stopped reading.
type slowReport struct {
	CloseCode int    `json:"close_code"` // -1: no close frame
	Outcome   string `json:"outcome"`
	Frames    int    `json:"frames_read_after"`
}

// stormReport is the result of -mode storm.
type stormReport struct {
	Attempted        int            `json:"attempted"`
	Connected        int            `json:"connected"`
	Failed           int            `json:"failed"`
	Failures         map[string]int `json:"failures,omitempty"`
	Seconds          float64        `json:"seconds"`
	HandshakesPerSec float64        `json:"handshakes_per_sec"`
	Latency          latencyReport  `json:"handshake_latency_ms"`
	SettleSeconds    float64        `json:"settle_seconds"`
	HoldSeconds      float64        `json:"hold_seconds"`
	Frames           int64          `json:"frames"`
	Loadgen          cpuReport      `json:"loadgen_cpu"`
	OtherCPU         float64        `json:"other_cpu_s"`
	Server           *stormServer   `json:"server,omitempty"`
}

// stormServer is the server's memory around a storm.
type stormServer struct {
	CPU              float64 `json:"cpu_s"`
	RSSBeforeKB      int64   `json:"rss_before_kb"`
	RSSAfterKB       int64   `json:"rss_after_kb"`
	RSSAfterHoldKB   int64   `json:"rss_after_hold_kb"`
	RSSPeakKB        int64   `json:"rss_peak_kb"`
	RSSPerConnKB     float64 `json:"rss_per_conn_kb"`
	RSSPerConnHoldKB float64 `json:"rss_per_conn_after_hold_kb"`
	Error            string  `json:"error,omitempty"`
}

// percentiles sorts ns (nanoseconds) and reports nearest-rank percentiles.
func percentiles(ns []int64) latencyReport {
	if len(ns) == 0 {
		return latencyReport{}
	}
	slices.Sort(ns)
	at := func(p float64) float64 {
		i := int(float64(len(ns))*p+0.999999) - 1
		return ms(ns[min(max(i, 0), len(ns)-1)])
	}
	return latencyReport{N: len(ns), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ns[len(ns)-1])}
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func cpuSince(u0, s0 time.Duration) cpuReport {
	u1, s1 := selfCPU()
	return cpuReport{User: (u1 - u0).Seconds(), Sys: (s1 - s0).Seconds(), Total: (u1 - u0 + s1 - s0).Seconds()}
}

func (r *benchReport) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	switch r.Mode {
	case "storm":
		p("statecast bench: storm, %s, %s, %d connections", r.Dialect, r.URL, r.Clients)
	default:
		loop := fmt.Sprintf("each writer waits for its own delivery, window %d", r.Inflight)
		if r.Rate > 0 {
			loop = fmt.Sprintf("fixed rate %.0f msg/s", r.Rate)
		}
		p("statecast bench: %s, %s, %s: %d clients, %d writers, %d messages (%s)", r.Mode, r.Dialect, r.URL, r.Clients, r.Writers, r.Messages, loop)
	}
	if f := r.Fill; f != nil {
		p("history fill: %d/%d messages in %.2f s (%.0f msg/s)", f.Delivered, f.Messages, f.Seconds, f.PerSecond)
	}
	if c := r.Connect; c != nil {
		p("connect: %d clients in %.2f s, room settled %.2f s later", r.Clients, c.Seconds, c.SettleSeconds)
	}
	for _, run := range r.Runs {
		run.print(p)
	}
	if s := r.Storm; s != nil {
		s.print(p, r.PID)
	}
	for _, warn := range r.Warnings {
		p("warning: %s", warn)
	}
}

func (run *runReport) print(p func(string, ...any)) {
	head := "run"
	if run.Name != "" {
		head = "run " + run.Name
	}
	if run.TimedOut {
		head += " (TIMED OUT)"
	}
	if run.Stalled {
		head += " (STALLED: no frame for a while, messages lost)"
	}
	p("%s: %d/%d deliveries in %.3f s = %.0f deliveries/s (%d frames)", head, run.Deliveries, run.Expected, run.Seconds, run.DeliveriesPerSec, run.Frames)
	p("  lost %d, duplicates %d, reordered %d, rejected writes %d, slow-path frames %d", run.Lost, run.Duplicates, run.Reordered, run.Rejected, run.SlowPathFrames)
	if run.SeqRegressions > 0 || run.Resyncs > 0 || run.Foreign > 0 || run.Disconnected > 0 {
		p("  seq regressions %d, resync snapshots %d, foreign messages %d, sockets lost %d", run.SeqRegressions, run.Resyncs, run.Foreign, run.Disconnected)
	}
	if len(run.Errors) > 0 {
		p("  error events: %s", formatCounts(run.Errors))
	}
	l := run.Latency
	p("  latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", l.P50, l.P90, l.P99, l.Max)
	p("  loadgen CPU: %.2f s (user %.2f, sys %.2f) = %.0f%% of one core", run.Loadgen.Total, run.Loadgen.User, run.Loadgen.Sys, 100*run.Loadgen.Total/max(run.WallSeconds, 1e-9))
	p("  other programs' CPU during the run: %.2f s", run.OtherCPU)
	if s := run.Server; s != nil {
		if s.Error != "" {
			p("  server: %s", s.Error)
		} else {
			p("  server CPU: %.2f s = %.0f%% of one core; %.2f µs per delivery, %.1f µs per message", s.CPU, 100*s.CPU/max(run.WallSeconds, 1e-9), s.CPUPerDeliveryUs, s.CPUPerMessageUs)
			p("  server RSS: %.1f → %.1f MiB (peak %.1f MiB)", mib(s.RSSBeforeKB), mib(s.RSSAfterKB), mib(s.RSSPeakKB))
		}
	}
	for _, sr := range run.SlowReaders {
		p("  slow reader: %s (read %d frames after it resumed)", sr.Outcome, sr.Frames)
	}
}

func (s *stormReport) print(p func(string, ...any), pid int) {
	p("storm: %d/%d connected in %.3f s = %.0f handshakes/s, %d failed", s.Connected, s.Attempted, s.Seconds, s.HandshakesPerSec, s.Failed)
	if len(s.Failures) > 0 {
		p("  failures: %s", formatCounts(s.Failures))
	}
	l := s.Latency
	p("  handshake latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", l.P50, l.P90, l.P99, l.Max)
	p("  settled %.2f s after the last connect (%d frames received), held %.1f s", s.SettleSeconds, s.Frames, s.HoldSeconds)
	p("  loadgen CPU: %.2f s (user %.2f, sys %.2f); other programs' CPU: %.2f s", s.Loadgen.Total, s.Loadgen.User, s.Loadgen.Sys, s.OtherCPU)
	if sv := s.Server; sv != nil {
		if sv.Error != "" {
			p("  server (pid %d): %s", pid, sv.Error)
			return
		}
		p("  server CPU: %.2f s", sv.CPU)
		p("  server RSS: %.1f MiB before, %.1f MiB connected, %.1f MiB after the hold (peak %.1f MiB)", mib(sv.RSSBeforeKB), mib(sv.RSSAfterKB), mib(sv.RSSAfterHoldKB), mib(sv.RSSPeakKB))
		p("  memory per idle connection: %.1f KiB (%.1f KiB after the hold)", sv.RSSPerConnKB, sv.RSSPerConnHoldKB)
	}
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

func formatCounts[V int | int64](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
