package loadtest

import (
	"context"
	"testing"

	"github.com/statecast/statecast/server"
)

// BenchmarkFanout is a full-size fan-out against a server in this process
// (100 clients, 10 writers, 1,000 messages: 100,000 deliveries per
// iteration), too long for the default test run. Its deliveries/s and p99
// latency are the tool's own summary; the server and the load generator
// share the machine, as in the tool's real runs.
func BenchmarkFanout(b *testing.B) {
	for _, dialect := range []string{"v1", "v2"} {
		b.Run(dialect, func(b *testing.B) {
			s := startServer(b, server.Config{})
			c, err := parseArgs([]string{"-url", s.URL("/chat/bench"), "-dialect", dialect, "-clients", "100", "-writers", "10", "-messages", "1000"})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				r, err := measure(context.Background(), c)
				if err != nil {
					b.Fatal(err)
				}
				run := r.Runs[0]
				if run.Lost != 0 || run.TimedOut || run.Stalled {
					b.Fatalf("%d of %d deliveries lost (timed out %v, stalled %v)", run.Lost, run.Expected, run.TimedOut, run.Stalled)
				}
				b.ReportMetric(run.DeliveriesPerSec, "deliveries/s")
				b.ReportMetric(run.Latency.P99, "p99-ms")
			}
		})
	}
}
