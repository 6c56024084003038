package server_test

// Cluster tests of NATS failures: the stream's leader stops, the stream
// loses its quorum; writers keep writing meanwhile.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/nats/natstest"
)

// Writers on every node keep writing while the NATS server that leads the
// stream stops, comes back, and then the next leader stops and comes back.
// Writers may get internal errors meanwhile and send the same clientId
// again. Every message any client saw in a messageWritten is in every
// client's sequence of messages once, in the same order; every writer's
// acknowledged messages are there in the order written; the chat goes on
// after each stop; nobody is announced gone (the nodes' leases hold across
// the failover); and every node's state is the same at the end.
func TestClusterNATSFailover(t *testing.T) {
	t.Parallel()
	r := startWriting(t)
	defer r.abort()
	r.progress(r.counts(), 5, "before any NATS server stops")
	for round := range 2 {
		leader := streamLeader(t, r.nc, r.stream)
		from := r.counts()
		began := time.Now()
		r.nc.Shutdown(leader)
		t.Logf("round %d: stopped NATS server %d, the stream leader", round, leader)
		r.progress(from, 5, fmt.Sprintf("round %d, NATS server %d stopped", round, leader))
		t.Logf("round %d: every writer had 5 more messages acknowledged %v after the stop; new leader %d", round, time.Since(began).Round(time.Millisecond), r.nc.StreamLeader(r.stream))
		r.nc.Restart(leader)
		r.progress(r.counts(), 3, fmt.Sprintf("round %d, NATS server %d restarted", round, leader))
	}
	r.finish()
}

// With two of the three NATS servers stopped the stream has no quorum:
// writes fail (after the log's retries) with internal errors, and writers
// send the same clientId again, and again. Once the servers are back, the
// chat goes on; every message is there once, nobody was announced gone,
// and every node holds the same state.
func TestClusterNATSQuorumLost(t *testing.T) {
	t.Parallel()
	r := startWriting(t)
	defer r.abort()
	r.progress(r.counts(), 5, "before the NATS servers stop")
	leader := streamLeader(t, r.nc, r.stream)
	other := (leader + 1) % 3
	began := time.Now()
	r.nc.Shutdown(leader)
	r.nc.Shutdown(other)
	t.Logf("stopped NATS servers %d (the stream leader) and %d", leader, other)
	// The writes in flight fail (once the log gives up retrying); the
	// writers send them again. Meanwhile the sockets wait for their
	// actions: that must not look like dead peers (the nodes ping every
	// second here).
	deadline := time.Now().Add(60 * time.Second)
	for slices.Max(r.errorCounts()) < 1 {
		if t.Failed() {
			t.FailNow()
		}
		if time.Now().After(deadline) {
			t.Fatal("no writer got an error 60s after the stream lost its quorum")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("a writer got an error %v after the stop", time.Since(began).Round(time.Millisecond))
	from := r.counts()
	r.nc.Restart(leader)
	r.nc.Restart(other)
	r.progress(from, 5, "NATS servers restarted")
	t.Logf("every writer had 5 more messages acknowledged %v after the stop", time.Since(began).Round(time.Millisecond))
	r.finish()
}

// writingCluster is three NATS servers, three nodes and two writers on
// each node, writing until finish.
type writingCluster struct {
	t       *testing.T
	nc      *natstest.Cluster
	stream  string
	nodes   []*chattest.Server
	peers   []*peer
	writers []*failoverWriter

	stop, aborted chan struct{}
	wg            sync.WaitGroup
	done          bool // the writers have returned
}

// startWriting starts the cluster and the writers.
func startWriting(t *testing.T) *writingCluster {
	t.Helper()
	const (
		perNode = 2
		history = 20 // small frames; the clients check every window shift
	)
	r := &writingCluster{t: t, nc: natstest.StartCluster(t, 3), stream: "statecast", stop: make(chan struct{}), aborted: make(chan struct{})}
	for i := range 3 {
		r.nodes = append(r.nodes, startNode(t, r.nc.URL(i), func(c *server.Config) {
			c.History, c.Cluster.Lease = history, 3*time.Second
			c.Transport.PingInterval, c.Transport.PingTimeout = time.Second, 3*time.Second
		}))
	}
	users := map[string]string{}
	for k := range perNode {
		for n, node := range r.nodes {
			id := fmt.Sprintf("w%d%d", n, k)
			users[id] = id
			p, hello := joinPeer(t, node, id, history)
			wantUsersList(t, hello, users)
			for _, o := range r.peers {
				o.expectPresence("joined", id)
			}
			r.peers = append(r.peers, p)
		}
	}
	for _, p := range r.peers {
		w := &failoverWriter{p: p}
		r.writers = append(r.writers, w)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(t, r.stop, r.aborted)
		}()
	}
	return r
}

// abort stops the writers at once, unless finish did already; a test
// defers it so that the writers are gone before the cleanups close their
// sockets.
func (r *writingCluster) abort() {
	if !r.done {
		close(r.aborted)
		r.wg.Wait()
		r.done = true
	}
}

// counts returns how many messages each writer has acknowledged.
func (r *writingCluster) counts() []int64 {
	c := make([]int64, len(r.writers))
	for i, w := range r.writers {
		c[i] = w.confirmed.Load()
	}
	return c
}

// errorCounts returns how many error events each writer got.
func (r *writingCluster) errorCounts() []int64 {
	c := make([]int64, len(r.writers))
	for i, w := range r.writers {
		c[i] = w.errors.Load()
	}
	return c
}

// progress waits until every writer has n more messages acknowledged than
// in from.
func (r *writingCluster) progress(from []int64, n int64, what string) {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		behind := -1
		for i, w := range r.writers {
			if w.confirmed.Load() < from[i]+n {
				behind = i
				break
			}
		}
		if behind < 0 {
			return
		}
		if t.Failed() {
			t.FailNow()
		}
		if time.Now().After(deadline) {
			w := r.writers[behind]
			t.Fatalf("%s: writer %s has %d messages acknowledged after 60s, want %d", what, w.p.id, w.confirmed.Load(), from[behind]+n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish stops the writers (each after its message in flight is
// acknowledged) and checks the outcome: every client saw exactly the
// acknowledged messages, each once, in one order, each writer's in the
// order written, nothing else (no presence event: nobody was counted
// gone), and every node holds the same state.
func (r *writingCluster) finish() {
	t := r.t
	t.Helper()
	close(r.stop)
	r.wg.Wait()
	r.done = true
	if t.Failed() {
		t.FailNow()
	}
	perUser := map[string][]string{}
	var total, errs int64
	for _, w := range r.writers {
		perUser[w.p.id] = w.sent
		total += int64(len(w.sent))
		errs += w.errors.Load()
	}
	for _, p := range r.peers {
		p.waitWritten(int(total), true)
	}
	silent(t, 500*time.Millisecond, r.peers...)
	want := r.peers[0].seenList()
	for _, p := range r.peers {
		if got := p.seenList(); !slices.Equal(got, want) {
			t.Fatalf("%s saw messages other than %s:\n%s\n%s", p.id, r.peers[0].id, describe(got), describe(want))
		}
	}
	wantEveryMessageOnce(t, want, perUser)
	t.Logf("%d messages acknowledged, %d error events on the way, every client saw each once", total, errs)
	wantSameState(t, r.nodes...)
}

// streamLeader returns the NATS server that leads stream, waiting for an
// election if none does.
func streamLeader(t *testing.T, nc *natstest.Cluster, stream string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if i := nc.StreamLeader(stream); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NATS server leads stream %s after 30s", stream)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failoverWriter writes messages one at a time, each until a
// messageWritten shows it (again, with the same clientId, after an error).
type failoverWriter struct {
	p         *peer
	confirmed atomic.Int64
	errors    atomic.Int64
	sent      []string // acknowledged texts, in order; read once run returned
}

// run writes until stop is closed (finishing the message in flight) or
// abort is closed (at once). It reports problems with t.Errorf.
func (w *failoverWriter) run(t *testing.T, stop, abort <-chan struct{}) {
	p := w.p
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		case <-abort:
			return
		default:
		}
		text, cid := fmt.Sprintf("%s m%03d", p.id, k), fmt.Sprintf("%s-c%03d", p.id, k)
		if err := p.writeID(text, cid); err != nil {
			t.Errorf("%s: %v", p.id, err)
			return
		}
		deadline := time.Now().Add(60 * time.Second)
		for done := false; !done; {
			select {
			case <-abort:
				return
			default:
			}
			f, err := p.take(200 * time.Millisecond)
			if errors.Is(err, errNoFrame) {
				if time.Now().After(deadline) {
					t.Errorf("%s: %q not in any messageWritten 60s after it was sent", p.id, text)
					return
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: waiting for %q: %v", p.id, text, err)
				return
			}
			switch {
			case f.Event == "messageWritten":
				done = f.added.Message == text && f.added.UserID == p.id
			case retryable(f):
				w.errors.Add(1)
				if err := p.writeID(text, cid); err != nil {
					t.Errorf("%s: %v", p.id, err)
					return
				}
			default:
				t.Errorf("%s: got %s while waiting for %q", p.id, f.raw, text)
				return
			}
		}
		w.sent = append(w.sent, text)
		w.confirmed.Add(1)
		time.Sleep(50 * time.Millisecond) // people type; keeps the run's messages in the hundreds
	}
}

// retryable reports whether f is an error a writer may answer by sending
// its message again: the log did not confirm it (it may still be applied,
// hence the same clientId), or the node is going away.
func retryable(f peerFrame) bool {
	return f.Event == "error" && (f.Code == "unconfirmed" || f.Code == "unavailable") && f.Ref == "writeMessage"
}
