package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"golang.org/x/time/rate"
)

// startServer starts statecast in this process for a load test: no fsync
// (the tests measure nothing) and no rate limits; cfg sets the rest.
func startServer(t testing.TB, cfg server.Config) *chattest.Server {
	t.Helper()
	cfg.Fsync = file.Off
	cfg.RateLimit.PerSession, cfg.RateLimit.PerAddress = rate.Inf, rate.Inf
	return chattest.Start(t, cfg)
}

// runJSON runs the tool with -json and returns its report.
func runJSON(t *testing.T, args ...string) Report {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-json", "-timeout", "20s", "-stall", "5s"}, args...)
	if err := Run(ctx, all, &out); err != nil {
		t.Fatalf("Run %s: %v", strings.Join(args, " "), err)
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("-json printed %q: %v", out.String(), err)
	}
	return r
}

// checkRun fails unless the run delivered every message exactly once, in
// order, with plausible latencies.
func checkRun(t *testing.T, run *RunReport, clients, messages int) {
	t.Helper()
	if run.TimedOut || run.Stalled {
		t.Errorf("run %q did not finish: %+v", run.Name, run)
	}
	want := int64(clients * messages)
	if run.Expected != want || run.Deliveries != want || run.Lost != 0 {
		t.Errorf("run %q: %d/%d deliveries, %d lost; want %d", run.Name, run.Deliveries, run.Expected, run.Lost, want)
	}
	if run.Duplicates != 0 || run.Reordered != 0 || run.Rejected != 0 || run.SlowPathFrames != 0 || run.Foreign != 0 {
		t.Errorf("run %q: %d duplicates, %d reordered, %d rejected, %d slow-path frames, %d foreign; want none (errors %v)",
			run.Name, run.Duplicates, run.Reordered, run.Rejected, run.SlowPathFrames, run.Foreign, run.Errors)
	}
	l := run.Latency
	if l.N != int(want) || !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Max < 20000) {
		t.Errorf("run %q: implausible latencies %+v", run.Name, l)
	}
	if run.DeliveriesPerSec <= 0 || run.Seconds <= 0 {
		t.Errorf("run %q: %.0f deliveries/s over %.3f s", run.Name, run.DeliveriesPerSec, run.Seconds)
	}
}
