package server_test

// Integration tests of the cluster mode (Config.Cluster): several servers
// on one JetStream stream, kept by three clustered NATS servers embedded in
// the test process (store/nats/natstest), chat as one server. Clients are
// real WebSocket clients on loopback. The nodes run in the test process, so
// that the tests can compare their states; the tests that kill or stop a
// node's process are in clusterproc_test.go.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/nats/natstest"
)

// nodeConfig is the configuration of a node of the cluster on nats (URLs),
// with short leases so that tests see a gone node quickly, and no rate
// limits.
func nodeConfig(nats string) server.Config {
	return server.Config{
		Cluster:   server.Cluster{NATS: nats, Replicas: 3, Lease: time.Second},
		Grace:     300 * time.Millisecond,
		RateLimit: unlimited,
	}
}

// startNode runs a node of the cluster on nats with nodeConfig, changed by
// edit.
func startNode(t *testing.T, nats string, edit ...func(*server.Config)) *chattest.Server {
	t.Helper()
	cfg := nodeConfig(nats)
	for _, e := range edit {
		e(&cfg)
	}
	return chattest.Start(t, cfg)
}

// Clients of different nodes chat as on one server: each sees the users
// of every node and every message, in one order.
func TestClusterChat(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	var nodes []*chattest.Server
	for i := range 3 {
		nodes = append(nodes, startNode(t, nc.URL(i)))
	}
	var clients []*chattest.Client
	users := map[string]string{}
	for i, n := range nodes {
		id := fmt.Sprintf("u%d", i)
		users[id] = id
		c, hello := n.Join(t, "/chat", id, id)
		wantUsers(t, hello, users)
		for _, o := range clients {
			expectPresence(t, o, "joined", id, id)
		}
		clients = append(clients, c)
	}
	for round := range 3 {
		for i, c := range clients {
			c.Say(fmt.Sprintf("r%d from u%d", round, i))
		}
	}
	var first []chatMsg
	for i, c := range clients {
		var msgs []chatMsg
		for range 9 {
			msgs = expectWritten(t, c)
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
	var nodes []*chattest.Server
	for i := range 3 {
		// The v2 mirror reads only at the end: no pings meanwhile. Leases
		// of 3s: under the race detector, with other clusters' tests
		// running, a heartbeat may take over a second.
		nodes = append(nodes, startNode(t, nc.URL(i), func(c *server.Config) {
			c.Transport.PingInterval, c.Cluster.Lease = 5*time.Minute, 3*time.Second
		}))
	}
	mirror := nodes[1].JoinV2(t, "/chat", "mirror", "mirror")

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
	mirror.CatchUp(end.Seq)
	st := mirror.State()
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
	gotList := st.Users()
	slices.Sort(wantList)
	slices.Sort(gotList)
	if !slices.Equal(gotList, wantList) {
		t.Fatalf("v2 mirror users = %v, want %v", gotList, wantList)
	}

	wantSameState(t, nodes...)
}
