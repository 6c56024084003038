package main

// Integration tests of the cluster mode (serve -nats): several statecast
// nodes on one JetStream stream, kept by three clustered NATS servers
// embedded in the test process (store/nats/natstest), chat as one server.
// Clients are real WebSocket clients on loopback. The nodes run in the
// test process, so that the tests can compare their states; the tests that
// kill or stop a node's process are in clusterproc_test.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/store/chat"
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

// ---- peers: v1 clients whose frames a goroutine reads as they come ----

// wireMsg is a v1 message object.
type wireMsg struct {
	UserID   string `json:"userId"`
	Username string `json:"username"`
	Message  string `json:"message"`
	Seq      uint64 `json:"seq"`
}

// peerFrame is one v1 frame as a peer keeps it. A messageWritten keeps
// the message it added (the list's last) instead of the list.
type peerFrame struct {
	Event    string `json:"event"`
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Code     string `json:"code"`
	Text     string `json:"message"` // an error's
	Ref      string `json:"ref"`
	Users    []struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"connectedUserList"`
	Messages []wireMsg `json:"messagesList"`

	added wireMsg // messageWritten: the message it added
	raw   string  // the frame, except for a messageWritten
}

// peer is a v1 client of a node whose socket a goroutine reads all the
// time, checking each messageWritten as it arrives: its list must be the
// previous list plus one message (minus the oldest, once the room holds
// history messages). The socket stays open however long the test waits.
type peer struct {
	t       *testing.T
	id      string // user id and name
	c       *client
	history int

	mu     sync.Mutex
	frames []peerFrame // received, not taken yet
	list   []wireMsg   // the last messagesList
	seen   []wireMsg   // the messages added by each messageWritten, in order
	taken  int         // messageWritten frames taken
	broken string      // the first rule a frame broke
	end    error       // why reading stopped
	wake   chan struct{}
	done   chan struct{}
}

// errNoFrame is take's error when no frame came in time.
var errNoFrame = errors.New("no frame")

// joinPeer connects a v1 client to node as user id (also its name) and
// returns it with its `connected`. history is the room's -history.
func joinPeer(t *testing.T, node *testServer, id string, history int) (*peer, peerFrame) {
	t.Helper()
	p := &peer{t: t, id: id, c: node.dial("/chat"), history: history, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() {
		p.c.conn.CloseNow()
		<-p.done
	})
	if err := p.send(map[string]any{"event": "connecting", "id": id, "username": id}); err != nil {
		t.Fatal(err)
	}
	f := p.expect("connected")
	if f.ID != id || f.Username != id || f.Name != id {
		t.Fatalf("%s: connected = %s", id, f.raw)
	}
	return p, f
}

func (p *peer) read() {
	defer close(p.done)
	for {
		typ, b, err := p.c.conn.Read(context.Background())
		p.mu.Lock()
		if err != nil {
			p.end = err
			p.mu.Unlock()
			p.signal()
			return
		}
		var f peerFrame
		switch {
		case typ != websocket.MessageText:
			p.breaks("a binary frame")
		case json.Unmarshal(b, &f) != nil || f.Event == "":
			p.breaks(fmt.Sprintf("a frame that is not a JSON object with an event: %q", b))
		case f.Event == "connected":
			p.list = f.Messages
			f.raw = string(b)
		case f.Event == "messageWritten":
			if !extends(p.list, f.Messages, p.history) {
				p.breaks(fmt.Sprintf("a messageWritten whose list does not extend the previous one by one message:\nbefore: %s\nafter:  %s", describe(p.list), describe(f.Messages)))
			}
			p.list = f.Messages
			if n := len(f.Messages); n > 0 {
				f.added = f.Messages[n-1]
				p.seen = append(p.seen, f.added)
			}
			f.Messages = nil
		default:
			f.raw = string(b)
		}
		if f.Event != "" {
			p.frames = append(p.frames, f)
		}
		p.mu.Unlock()
		p.signal()
	}
}

// breaks records the first rule broken; p.mu is held.
func (p *peer) breaks(why string) {
	if p.broken == "" {
		p.broken = why
	}
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// extends reports whether next is prev plus one message, the oldest
// dropped once prev holds history messages.
func extends(prev, next []wireMsg, history int) bool {
	if len(prev) < history {
		return len(next) == len(prev)+1 && slices.Equal(next[:len(prev)], prev)
	}
	return len(next) == history && slices.Equal(next[:history-1], prev[len(prev)-history+1:])
}

// take returns the next frame within d: errNoFrame if none came, the
// socket's end if it ended, or an error if a frame broke a rule. It may be
// called from any goroutine, by one at a time.
func (p *peer) take(d time.Duration) (peerFrame, error) {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		if p.broken != "" {
			p.mu.Unlock()
			return peerFrame{}, fmt.Errorf("%s received %s", p.id, p.broken)
		}
		if len(p.frames) > 0 {
			f := p.frames[0]
			p.frames = p.frames[1:]
			if f.Event == "messageWritten" {
				p.taken++
			}
			p.mu.Unlock()
			return f, nil
		}
		end := p.end
		p.mu.Unlock()
		if end != nil {
			return peerFrame{}, fmt.Errorf("%s: socket ended: %w", p.id, end)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return peerFrame{}, errNoFrame
		}
		timer := time.NewTimer(left)
		select {
		case <-p.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// frameWait bounds how long a test waits for a frame it expects: long, for
// a loaded machine; a passing run never waits that long.
const frameWait = 30 * time.Second

// expect takes the next frame and fails unless it is the named event.
func (p *peer) expect(name string) peerFrame {
	p.t.Helper()
	f, err := p.take(frameWait)
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v", p.id, name, err)
	}
	if f.Event != name {
		p.t.Fatalf("%s: got %s, want %s", p.id, f.show(), name)
	}
	return f
}

// show describes f for a failure message.
func (f peerFrame) show() string {
	if f.raw != "" {
		return f.raw
	}
	return fmt.Sprintf("%s adding %+v", f.Event, f.added)
}

// expectPresence takes the next frame and fails unless it is the presence
// event name for id (whose username is id too).
func (p *peer) expectPresence(name, id string) {
	p.t.Helper()
	f := p.expect(name)
	if f.ID != id || f.Username != id || f.Name != id {
		p.t.Fatalf("%s: %s = %s, want it for %q", p.id, name, f.raw, id)
	}
}

// expectWrittenN takes frames until n messageWritten frames were taken in
// all; each must be a messageWritten.
func (p *peer) expectWrittenN(n int) {
	p.t.Helper()
	p.waitWritten(n, false)
}

// waitWritten takes frames until n messageWritten frames were taken in
// all; each frame must be a messageWritten, or, if errorsOK, an error a
// writer may retry after (the answer to a retry whose original went
// through meanwhile).
func (p *peer) waitWritten(n int, errorsOK bool) {
	p.t.Helper()
	for p.takenCount() < n {
		f, err := p.take(frameWait)
		if err != nil {
			p.t.Fatalf("%s: %d of %d messageWritten: %v", p.id, p.takenCount(), n, err)
		}
		if f.Event != "messageWritten" && !(errorsOK && retryable(f)) {
			p.t.Fatalf("%s: got %s after %d of %d messageWritten", p.id, f.show(), p.takenCount(), n)
		}
	}
}

func (p *peer) takenCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.taken
}

// seenList returns the messages added by the messageWritten frames so far.
func (p *peer) seenList() []wireMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// messages returns the last messagesList received.
func (p *peer) messages() []wireMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.list)
}

// send writes v as one JSON text frame.
func (p *peer) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("%s: write: %w", p.id, err)
	}
	return nil
}

// writeID sends a writeMessage with a clientId.
func (p *peer) writeID(text, clientID string) error {
	return p.send(map[string]any{"event": "writeMessage", "message": text, "clientId": clientID})
}

// silent fails if any peer receives a frame within d (all waited at once),
// or broke a rule.
func silent(t *testing.T, d time.Duration, peers ...*peer) {
	t.Helper()
	time.Sleep(d)
	for _, p := range peers {
		p.mu.Lock()
		frames, broken, end := slices.Clone(p.frames), p.broken, p.end
		p.mu.Unlock()
		switch {
		case broken != "":
			t.Fatalf("%s received %s", p.id, broken)
		case len(frames) > 0:
			t.Fatalf("%s: expected no frame, got %s (and %d more)", p.id, frames[0].show(), len(frames)-1)
		case end != nil:
			t.Fatalf("%s: socket ended: %v", p.id, end)
		}
	}
}

// wantUsersList fails unless f's connectedUserList holds exactly the users
// of want (id → username), each once.
func wantUsersList(t *testing.T, f peerFrame, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, u := range f.Users {
		if _, dup := got[u.ID]; dup {
			t.Fatalf("connectedUserList lists %q twice: %s", u.ID, f.raw)
		}
		got[u.ID] = u.Username
	}
	if len(got) != len(want) {
		t.Fatalf("connectedUserList = %s, want exactly %v", f.raw, want)
	}
	for id, name := range want {
		if got[id] != name {
			t.Fatalf("connectedUserList = %s, want exactly %v", f.raw, want)
		}
	}
}

// wantEveryMessageOnce fails unless msgs hold exactly the texts of
// perUser (user id → its texts in the order written), each once, each
// user's in its order, every message's username its user id, and seqs
// increasing.
func wantEveryMessageOnce(t *testing.T, msgs []wireMsg, perUser map[string][]string) {
	t.Helper()
	next := map[string]int{} // user → index of its next text
	for i, m := range msgs {
		if i > 0 && m.Seq <= msgs[i-1].Seq {
			t.Fatalf("message %d %+v has a seq not above the one before, %+v", i, m, msgs[i-1])
		}
		if m.Username != m.UserID {
			t.Fatalf("message %d %+v: username is not the user's", i, m)
		}
		texts := perUser[m.UserID]
		j := next[m.UserID]
		if j >= len(texts) || texts[j] != m.Message {
			if slices.Contains(texts[:j], m.Message) {
				t.Fatalf("message %d %+v appears twice", i, m)
			}
			t.Fatalf("message %d %+v: want %s's next message to be %q (of %d)", i, m, m.UserID, at(texts, j), len(texts))
		}
		next[m.UserID]++
	}
	for id, texts := range perUser {
		if next[id] != len(texts) {
			t.Fatalf("%s's messages from %q on are missing (%d of %d there)", id, texts[next[id]], next[id], len(texts))
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// describe shows a list of messages compactly.
func describe(msgs []wireMsg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages:", len(msgs))
	for _, m := range msgs {
		fmt.Fprintf(&b, " %d:%s:%q", m.Seq, m.UserID, m.Message)
	}
	return b.String()
}

func idsOf(peers []*peer) []string {
	var ids []string
	for _, p := range peers {
		ids = append(ids, p.id)
	}
	return ids
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
