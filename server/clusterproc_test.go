//go:build unix

package server_test

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/nats/natstest"
)

// startClusterChild runs a server process as node id of the cluster on
// nats, with the leases and grace of nodeConfig.
func startClusterChild(t *testing.T, nats, id string) *child {
	t.Helper()
	cfg := nodeConfig(nats)
	cfg.Cluster.Node = id
	return startChild(t, childConfig{Data: t.TempDir(), Grace: cfg.Grace, Cluster: cfg.Cluster})
}

// A node killed with SIGKILL: the survivors count it gone once its lease
// runs out, and each of their clients gets exactly one `disconnected` per
// user who had sockets only there; a user who also has a socket on a
// survivor stays. The others keep chatting. A node started again (a new
// process) serves the whole history once, and chat works across every
// node. Node A and B are processes, C runs in the test; a node started in
// the test at the end, which folds the whole stream, holds C's state.
func TestClusterKillNode(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	const history = 1000 // the default
	nodeA := startClusterChild(t, nc.URL(0), "A-1")
	nodeB := startClusterChild(t, nc.URL(1), "B")
	nodeC := startNode(t, nc.URL(2))

	users := map[string]string{}
	var peers []*peer
	join := func(node node, id string, newUser bool) *peer {
		t.Helper()
		users[id] = id
		p, hello := joinPeer(t, node, id, history)
		wantUsersList(t, hello, users)
		if newUser {
			for _, o := range peers {
				o.expectPresence("joined", id)
			}
		}
		peers = append(peers, p)
		return p
	}
	a1 := join(nodeA, "a1", true)
	a2 := join(nodeA, "a2", true)
	sA := join(nodeA, "s", true) // s has a tab on A and one on B
	b1 := join(nodeB, "b1", true)
	sB := join(nodeB, "s", false)
	c1 := join(nodeC, "c1", true)

	var texts []string
	say := func(from *peer, text string, to ...*peer) {
		t.Helper()
		if err := from.writeID(text, text); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, text)
		for _, p := range to {
			if f := p.expect("messageWritten"); f.added.Message != text || f.added.UserID != from.id {
				t.Fatalf("%s: messageWritten adds %+v, want %s's %q", p.id, f.added, from.id, text)
			}
		}
	}
	all := []*peer{a1, a2, sA, b1, sB, c1}
	for _, p := range []*peer{a1, sA, b1, c1} {
		say(p, "before the kill, from "+p.id, all...)
	}

	// Kill A.
	killed := time.Now()
	nodeA.kill()
	survivors := []*peer{b1, sB, c1}
	for _, p := range survivors {
		gone := map[string]bool{}
		for range 2 {
			f := p.expect("disconnected")
			if f.Username != f.ID || f.Name != f.ID || (f.ID != "a1" && f.ID != "a2") || gone[f.ID] {
				t.Fatalf("%s: got %s, want one disconnected for each of a1 and a2 (and none for s, who has a socket on B)", p.id, f.raw)
			}
			gone[f.ID] = true
		}
	}
	took := time.Since(killed)
	t.Logf("the users of the killed node were announced gone %v after the kill", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Fatalf("the users of the killed node were announced gone %v after the kill; the lease is 1s", took)
	}
	for _, p := range []*peer{a1, a2, sA} {
		if _, err := p.take(frameWait); err == nil {
			t.Fatalf("%s: a socket of the killed node got a frame", p.id)
		}
	}
	// Both survivors saw the lease run out and may have recorded the node
	// as gone (if the other's record was not applied yet); a second record
	// announces nothing. Make sure there is one, then three leases of quiet.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodeC.Store().Dispatch(ctx, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "A-1"}}); err != nil {
		t.Fatalf("recording node A gone again: %v", err)
	}
	silent(t, 3*time.Second, survivors...)
	delete(users, "a1")
	delete(users, "a2")

	// The others chat on.
	for _, p := range survivors {
		say(p, "after the kill, from "+p.id, survivors...)
	}

	// A node again on the same NATS server: a new process, a new node id.
	nodeA2 := startClusterChild(t, nc.URL(0), "A-2")
	peers = slices.Clone(survivors)
	d1 := join(nodeA2, "d1", true)
	// The new node's first client gets the whole history, once.
	if got := d1.messages(); !slices.Equal(got, b1.messages()) {
		t.Fatalf("d1 joined a node started again with history\n%s\nthe survivors hold\n%s", describe(got), describe(b1.messages()))
	}
	a1again := join(nodeA2, "a1", true) // a1 comes back, on the new node
	everyone := []*peer{b1, sB, c1, d1, a1again}
	for _, p := range everyone {
		say(p, "across the nodes, from "+p.id, everyone...)
	}
	silent(t, 300*time.Millisecond, everyone...)

	final := b1.messages()
	for _, p := range everyone {
		if got := p.messages(); !slices.Equal(got, final) {
			t.Fatalf("%s ends with\n%s\nb1 with\n%s", p.id, describe(got), describe(final))
		}
	}
	if len(final) != len(texts) {
		t.Fatalf("the room holds %d messages, %d were written: %s", len(final), len(texts), describe(final))
	}
	for i, m := range final {
		if m.Message != texts[i] || (i > 0 && m.Seq <= final[i-1].Seq) {
			t.Fatalf("message %d is %+v, want %q with a seq above the one before: %s", i, m, texts[i], describe(final))
		}
	}

	// A node that folds the whole stream now holds what C holds, and the
	// killed node holds nothing there.
	nodeE := startNode(t, nc.URL(1))
	wantSameState(t, nodeC, nodeE)
	if nodes := nodeC.Store().GetState().Nodes(); slices.Contains(nodes, "A-1") || !slices.Contains(nodes, "A-2") || !slices.Contains(nodes, "B") {
		t.Fatalf("the state holds sockets of nodes %v, want B and A-2 and not A-1", nodes)
	}
	if msgs := nodeC.Store().GetState().Room("chat").MessageCount(); msgs != len(texts) {
		t.Fatalf("node C holds %d messages, want %d", msgs, len(texts))
	}
}

// A node that stops for longer than a lease (SIGSTOP: a long pause, a VM
// frozen) is counted gone by the others: its users are announced gone once.
// When it runs again it learns that from the log and closes its sockets
// with 1013, so that their clients reconnect; it must not count the others
// gone for the heartbeats it could not hear while stopped. Its clients come
// back and chat on.
func TestClusterNodeFrozen(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	const history = 1000
	nodeP := startClusterChild(t, nc.URL(0), "P")
	nodeC := startNode(t, nc.URL(1))

	p1, _ := joinPeer(t, nodeP, "p1", history)
	c1, hello := joinPeer(t, nodeC, "c1", history)
	wantUsersList(t, hello, map[string]string{"p1": "p1", "c1": "c1"})
	p1.expectPresence("joined", "c1")

	if err := nodeP.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	c1.expectPresence("disconnected", "p1")
	t.Logf("p1 announced gone %v after its node stopped", time.Since(stopped).Round(time.Millisecond))
	time.Sleep(time.Second) // P's view of the others is now two leases old
	if err := nodeP.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// P closes p1's socket with 1013 once it sees itself counted gone.
	for {
		_, err := p1.take(frameWait)
		if errors.Is(err, errNoFrame) {
			t.Fatal("p1's socket on the node counted gone stays open")
		}
		if err != nil {
			if got := websocket.CloseStatus(err); got != websocket.StatusTryAgainLater {
				t.Fatalf("p1's socket ended with %v (%v), want 1013", got, err)
			}
			break
		}
	}
	// C and its client saw nothing of P's return: P did not count C gone.
	silent(t, 3*time.Second, c1)

	// p1 reconnects to P and chats with c1.
	p1, hello = joinPeer(t, nodeP, "p1", history)
	wantUsersList(t, hello, map[string]string{"p1": "p1", "c1": "c1"})
	c1.expectPresence("joined", "p1")
	for _, from := range []*peer{p1, c1} {
		text := "after the pause, from " + from.id
		if err := from.writeID(text, text); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*peer{p1, c1} {
			if f := p.expect("messageWritten"); f.added.Message != text {
				t.Fatalf("%s: messageWritten adds %+v, want %q", p.id, f.added, text)
			}
		}
	}
	silent(t, 3*time.Second, p1, c1)
	wantSameState(t, nodeC, startNode(t, nc.URL(2)))
}
