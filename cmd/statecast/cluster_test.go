package main

// Integration tests of the cluster mode (serve -nats): several statecast
// nodes on one JetStream stream, kept by three clustered NATS servers
// embedded in the test process (store/nats/natstest), chat as one server.
// Clients are real WebSocket clients on loopback. The nodes run in the
// test process, so that the tests can compare their states; the tests that
// kill or stop a node's process are in clusterproc_test.go.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/nats/natstest"
)

// startNode runs a statecast node of the cluster on nats (URLs), with
// short leases so that tests see a gone node quickly.
func startNode(t *testing.T, nats string, args ...string) *testServer {
	t.Helper()
	return startServer(t, append([]string{"-nats", nats, "-nats-replicas", "3", "-lease", "1s", "-grace", "300ms", "-rate", "0", "-rate-per-address", "0"}, args...)...)
}

// Clients of different nodes chat as on one server: each sees the users
// of every node and every message, in one order.
func TestClusterChat(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	var nodes []*testServer
	for i := range 3 {
		nodes = append(nodes, startNode(t, nc.URL(i)))
	}
	var clients []*client
	users := map[string]string{}
	for i, n := range nodes {
		id := fmt.Sprintf("u%d", i)
		users[id] = id
		c, hello := n.join("/chat", id, id)
		wantUsers(t, hello, users)
		for _, o := range clients {
			o.expectPresence("joined", id, id)
		}
		clients = append(clients, c)
	}
	for round := range 3 {
		for i, c := range clients {
			c.write(fmt.Sprintf("r%d from u%d", round, i))
		}
	}
	var first []chatMsg
	for i, c := range clients {
		var msgs []chatMsg
		for range 9 {
			msgs = c.expectWritten()
		}
		if len(msgs) != 9 {
			t.Fatalf("client %d ends with %d messages, want 9: %v", i, len(msgs), msgs)
		}
		if i == 0 {
			first = msgs
			continue
		}
		for j := range msgs {
			if msgs[j] != first[j] {
				t.Fatalf("client %d sees %v, client 0 %v", i, msgs, first)
			}
		}
	}
	wantSameState(t, nodes...)
}

// Twelve v1 clients, four on each of three nodes, write 30 messages each
// at once (every tenth sent twice with the same clientId); a second tab of
// one user on another node sends some of that user's clientIds again. Every
// client gets one messageWritten per message, each extending the list by
// exactly that message; at the end every client holds the same list: every
// message once, seqs increasing, each writer's messages in the order sent.
// A v2 client mirrors the room to the same messages and users, and every
// node's state is the same.
func TestClusterLoad(t *testing.T) {
	t.Parallel()
	const (
		perNode   = 4
		perClient = 30
		history   = 1000 // the default: the last list holds every message
	)
	nc := natstest.StartCluster(t, 3)
	var nodes []*testServer
	for i := range 3 {
		// The v2 mirror reads only at the end: no pings meanwhile. Leases
		// of 3s: under the race detector, with other clusters' tests
		// running, a heartbeat may take over a second.
		nodes = append(nodes, startNode(t, nc.URL(i), "-ping-interval", "5m", "-lease", "3s"))
	}
	mirror := nodes[1].joinV2("/chat", "mirror", "mirror")

	users := map[string]string{"mirror": "mirror"}
	var writers []*peer
	for k := range perNode {
		for n, node := range nodes {
			id := fmt.Sprintf("u%d%d", n, k)
			users[id] = id
			p, hello := joinPeer(t, node, id, history)
			wantUsersList(t, hello, users)
			for _, o := range writers {
				o.expectPresence("joined", id)
			}
			writers = append(writers, p)
		}
	}
	// A second tab of u00, on another node: no joined for it.
	tab, hello := joinPeer(t, nodes[2], "u00", history)
	wantUsersList(t, hello, users)
	peers := append(slices.Clone(writers), tab)

	// Everyone writes at once.
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perClient {
				text, cid := fmt.Sprintf("%s m%02d", p.id, k), fmt.Sprintf("%s-c%02d", p.id, k)
				if err := p.writeID(text, cid); err != nil {
					t.Errorf("%s: %v", p.id, err)
					return
				}
				if k%10 == 9 { // a retry of a write that went through
					if err := p.writeID(text, cid); err != nil {
						t.Errorf("%s: %v", p.id, err)
						return
					}
				}
				if rand.IntN(4) == 0 {
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	total := len(writers) * perClient
	for _, p := range peers {
		p.expectWrittenN(total)
	}
	t.Logf("%d messages from %d clients on %d nodes reached %d clients in %v", total, len(writers), len(nodes), len(peers), time.Since(start))
	perUser := map[string][]string{}
	for _, id := range idsOf(writers) {
		for k := range perClient {
			perUser[id] = append(perUser[id], fmt.Sprintf("%s m%02d", id, k))
		}
	}
	wantEveryMessageOnce(t, peers[0].messages(), perUser)

	// u00's other tab sends u00's first clientIds again (as a reconnected
	// client retrying would), then a new message: the retries add nothing,
	// so the next messageWritten anyone gets is the new one.
	for k := range 5 {
		if err := tab.writeID(fmt.Sprintf("u00 m%02d", k), fmt.Sprintf("u00-c%02d", k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.writeID("u00 end", "u00-end"); err != nil {
		t.Fatal(err)
	}
	var end wireMsg
	for _, p := range peers {
		f := p.expect("messageWritten")
		if f.added.Message != "u00 end" || f.added.UserID != "u00" {
			t.Fatalf("%s: after the retried clientIds, messageWritten adds %+v, want u00's \"u00 end\"", p.id, f.added)
		}
		end = f.added
	}
	silent(t, 500*time.Millisecond, peers...)

	// Every client holds the same list: every message once, in one order.
	want := peers[0].messages()
	for _, p := range peers {
		if got := p.messages(); !slices.Equal(got, want) {
			t.Fatalf("%s ends with a list other than %s's:\n%s\n%s", p.id, peers[0].id, describe(got), describe(want))
		}
	}
	perUser["u00"] = append(perUser["u00"], "u00 end")
	wantEveryMessageOnce(t, want, perUser)

	// The v2 mirror, on node 1, holds the same messages (with the
	// clientIds) and the users.
	mirror.catchUp(end.Seq)
	st := mirror.state()
	if len(st.Messages) != len(want) {
		t.Fatalf("v2 mirror holds %d messages, v1 clients %d", len(st.Messages), len(want))
	}
	for i, m := range st.Messages {
		w := want[i]
		cid := strings.Replace(w.Message, " m", "-c", 1)
		if w.Message == "u00 end" {
			cid = "u00-end"
		}
		if m.UserID != w.UserID || m.Username != w.Username || m.Message != w.Message || m.Seq != w.Seq || m.ClientID != cid {
			t.Fatalf("v2 mirror message %d = %+v, v1 clients have %+v (clientId %q)", i, m, w, cid)
		}
	}
	var wantList []string
	for id := range users {
		wantList = append(wantList, id+"="+id)
	}
	gotList := st.users()
	slices.Sort(wantList)
	slices.Sort(gotList)
	if !slices.Equal(gotList, wantList) {
		t.Fatalf("v2 mirror users = %v, want %v", gotList, wantList)
	}

	wantSameState(t, nodes...)
}

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
	nodes   []*testServer
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
		r.nodes = append(r.nodes, startNode(t, r.nc.URL(i), "-history", fmt.Sprint(history), "-ping-interval", "1s", "-ping-timeout", "3s", "-lease", "3s"))
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

// ---- node states ----

// around returns the part of a around the first byte where it differs
// from b.
func around(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("…%s…", a[max(0, i-200):min(len(a), i+200)])
}

// stateOf returns the seq a node has applied and the canonical encoding of
// its state, or ok false if the node applied an action meanwhile.
func stateOf(t *testing.T, node *testServer) (seq uint64, enc []byte, ok bool) {
	t.Helper()
	st := node.srv.Store()
	seq = st.Seq()
	enc, err := chat.Codec{}.Encode(st.GetState())
	if err != nil {
		t.Fatalf("encoding a node's state: %v", err)
	}
	return seq, enc, st.Seq() == seq
}

// wantSameState waits until every node has applied the same seq and holds
// the same state there (the same sha256 of its canonical encoding), and
// fails if that does not happen within 30s.
func wantSameState(t *testing.T, nodes ...*testServer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seqs := make([]uint64, len(nodes))
		encs := make([][]byte, len(nodes))
		same := true
		for i, n := range nodes {
			var ok bool
			seqs[i], encs[i], ok = stateOf(t, n)
			same = same && ok && seqs[i] == seqs[0] && bytes.Equal(encs[i], encs[0])
		}
		if same {
			t.Logf("every node (%d) at seq %d, state sha256 %x", len(nodes), seqs[0], sha256.Sum256(encs[0]))
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i := range nodes {
				fmt.Fprintf(&b, "\nnode %d: seq %d, sha256 %x", i, seqs[i], sha256.Sum256(encs[i]))
			}
			for i := 1; i < len(nodes); i++ {
				if seqs[i] == seqs[0] && !bytes.Equal(encs[i], encs[0]) {
					fmt.Fprintf(&b, "\nfirst difference of node 0 and node %d at the same seq:\n%s\n%s", i, around(encs[0], encs[i]), around(encs[i], encs[0]))
					break
				}
			}
			t.Fatalf("the nodes' states differ after 30s:%s", b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterReadyz: a node answers /readyz with 503 while it has no
// connection to NATS, so that a load balancer sends its users elsewhere,
// and with 200 again once it is back.
func TestClusterReadyz(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	node := startServer(t, "-nats", nc.URL(0))
	ready := func() (int, string) {
		resp, err := http.Get("http://" + node.addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitReady := func(want int) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := ready()
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %q for 20s, want %d", code, body, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitReady(http.StatusOK)
	nc.Shutdown(0)
	if body := waitReady(http.StatusServiceUnavailable); !strings.Contains(body, "NATS") {
		t.Fatalf("/readyz without NATS says %q, want it to name NATS", body)
	}
	nc.Restart(0)
	waitReady(http.StatusOK)
}

// TestClusterV2ResumeOnAnotherNode: a v2 client whose node drops it
// resumes on another node with its id, token and lastSeq and gets exactly
// the changes it missed, as patches: the token binding is in the shared
// state, and every node's hub keeps the room's recent changes.
func TestClusterV2ResumeOnAnotherNode(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	nodeA := startNode(t, nc.URL(0), "-grace", "10s")
	nodeB := startNode(t, nc.URL(1), "-grace", "10s")
	const room = "/chat/v2_cluster_resume"
	ann := nodeA.joinV2(room, "ann", "ann")
	bob := nodeB.joinV2(room, "bob", "bob")
	ann.readOps(1) // bob entered
	ann.say("before", "a1")
	bob.readOps(1)

	ann.conn.CloseNow()
	bob.say("missed 1", "b1")
	bob.say("missed 2", "b2")
	ann2, f := nodeB.resume(room, ann)
	if f.Event != "resumed" {
		t.Fatalf("resume on the other node: got %s, want resumed", f.raw)
	}
	ops, _ := ann2.readOps(2)
	var got []string
	for _, op := range ops {
		if m, ok := op.Value.(map[string]any)["message"].(string); op.Op == "add" && ok {
			got = append(got, m)
		}
	}
	if want := []string{"missed 1", "missed 2"}; !slices.Equal(got, want) {
		t.Fatalf("missed changes = %v (%v), want the messages %q", got, ops, want)
	}
	fresh := nodeA.joinV2(room, "", "fresh")
	for _, c := range []*v2Client{ann2, bob} {
		c.wantSynced(fresh)
	}
}

// TestClusterNodeSnapshots: a node with an id of its own (-node) keeps
// snapshots of the shared state in -data and, restarted, folds on from
// them: its state equals the others', including what happened while it
// was down.
func TestClusterNodeSnapshots(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	dir := t.TempDir()
	other := startNode(t, nc.URL(0))
	snapArgs := []string{"-node", "snapper", "-data", dir, "-snapshot-every", "5"}
	snapper := startNode(t, nc.URL(1), snapArgs...)
	ann, _ := other.join("/chat", "ann", "ann")
	for i := range 12 {
		ann.write(fmt.Sprint("before ", i))
		ann.expectWritten()
	}
	wantSameState(t, other, snapper)
	if err := snapper.stop(); err != nil {
		t.Fatal(err)
	}
	snapshots := func() []uint64 {
		t.Helper()
		dirs, _ := filepath.Glob(filepath.Join(dir, "cluster", "statecast-*", "snapper"))
		if len(dirs) != 1 {
			t.Fatalf("snapshot directories %v, want one under %s/cluster/statecast-<created>/snapper", dirs, dir)
		}
		l, err := file.Open(dirs[0], file.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		seqs, err := l.SnapshotSeqs()
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	kept := snapshots()
	if len(kept) == 0 {
		t.Fatal("the node kept no snapshot")
	}
	for i := range 3 {
		ann.write(fmt.Sprint("while it was down ", i))
		ann.expectWritten()
	}
	again := startNode(t, nc.URL(2), snapArgs...)
	wantSameState(t, other, again)
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
	if now := snapshots(); now[len(now)-1] <= kept[len(kept)-1] {
		t.Fatalf("snapshots %v after the restart, %v before: want a newer one", now, kept)
	}
}
