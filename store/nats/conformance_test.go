package nats_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/logtest"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

// streams numbers the streams of a test process, so that each log of a
// shared server gets its own.
var streams atomic.Int64

// newStream returns a stream name not used before in this process.
func newStream() string { return fmt.Sprintf("test%d", streams.Add(1)) }

// open opens a Log on c with opts, failing the test on error; the Log is
// closed by t.Cleanup.
func open(t testing.TB, c *natstest.Cluster, opts nats.Options) *nats.Log {
	t.Helper()
	if opts.URLs == "" {
		opts.URLs = c.URLs()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := nats.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		servers  int
		replicas int
	}{
		{"Single", 1, 1},
		{"ClusterR3", 3, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var nc *natstest.Cluster
			if c.servers == 1 {
				nc = natstest.StartServer(t)
			} else {
				nc = natstest.StartCluster(t, c.servers)
			}
			opts := func() nats.Options { return nats.Options{Stream: newStream(), Replicas: c.replicas} }
			logtest.Run(t, func(t *testing.T) store.Log { return open(t, nc, opts()) })
			logtest.RunReopen(t, func(t *testing.T) (store.Log, func() store.Log) {
				o := opts()
				l := open(t, nc, o)
				return l, func() store.Log {
					if err := l.Close(); err != nil {
						t.Fatal(err)
					}
					l = open(t, nc, o)
					return l
				}
			})
		})
	}
}
