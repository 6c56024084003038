package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Print writes r as a human-readable summary, one line per figure.
func (r *Report) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	switch r.Mode {
	case "storm":
		p("statecast-load: storm, %s, %s, %d connections", r.Dialect, r.URL, r.Clients)
	default:
		loop := fmt.Sprintf("each writer waits for its own delivery, window %d", r.Inflight)
		if r.Rate > 0 {
			loop = fmt.Sprintf("fixed rate %.0f msg/s", r.Rate)
		}
		p("statecast-load: %s, %s, %s: %d clients, %d writers, %d messages (%s)", r.Mode, r.Dialect, r.URL, r.Clients, r.Writers, r.Messages, loop)
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

func (run *RunReport) print(p func(string, ...any)) {
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
	if l := run.Log; l != nil {
		p("  action log: %.0f fsyncs/s, %.1f actions per fsync (%.0f actions in %.0f appends)", l.FsyncsPerSec, l.ActionsPerFsync, l.Actions, l.Appends)
	}
	if f := run.Flood; f != nil {
		p("  flood: %d socket(s) sent %d writes over %d connects (%d refused)", f.Sockets, f.Writes, f.Connects, f.RefusedConnects)
	}
	for _, sr := range run.SlowReaders {
		p("  slow reader: %s (read %d frames after it resumed)", sr.Outcome, sr.Frames)
	}
}

func (s *StormReport) print(p func(string, ...any), pid int) {
	p("storm: %d/%d connected in %.3f s = %.0f handshakes/s, %d failed", s.Connected, s.Attempted, s.Seconds, s.HandshakesPerSec, s.Failed)
	if len(s.Failures) > 0 {
		p("  failures: %s", formatCounts(s.Failures))
	}
	l := s.Latency
	p("  handshake latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", l.P50, l.P90, l.P99, l.Max)
	p("  settled %.2f s after the last connect (%d frames received), held %.1f s", s.SettleSeconds, s.Frames, s.HoldSeconds)
	if s.Lost > 0 {
		p("  %d socket(s) closed by the server before the end of the hold", s.Lost)
	}
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

// mib converts KiB to MiB.
func mib(kb int64) float64 { return float64(kb) / 1024 }

// formatCounts lists counts by key, in key order: "a ×2, b ×1".
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
