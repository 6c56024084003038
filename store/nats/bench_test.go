package nats_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

// BenchmarkAppend appends batches to a stream on one embedded server, and
// to an R3 stream on three clustered embedded servers (all on this
// machine), every server fsyncing every write (SyncAlways), and reports
// actions per second.
func BenchmarkAppend(b *testing.B) {
	for _, servers := range []int{1, 3} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			var c *natstest.Cluster
			if servers == 1 {
				c = natstest.StartServer(b)
			} else {
				c = natstest.StartCluster(b, servers)
			}
			for _, size := range []int{1, 64} {
				b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
					l := open(b, c, nats.Options{Stream: newStream(), Replicas: servers})
					ctx := context.Background()
					batches := make([][]*actions.Action, b.N)
					for i := range batches {
						batches[i] = batch("a", i*size, size)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						if err := l.Append(ctx, batches[i]); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "actions/s")
				})
			}
		})
	}
}

// BenchmarkRead reads a stream of 100,000 actions from the start and
// reports actions per second.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	c := natstest.StartServer(b)
	l := open(b, c, nats.Options{Stream: newStream()})
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		if err := l.Append(ctx, batch("a", i, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got := 0
		if err := l.Read(ctx, 0, func(*actions.Action) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("read %d actions, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "actions/s")
}
