package server_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/nats/natstest"
)

// TestClusterReadyz: a node answers /readyz with 503 while it has no
// connection to NATS, so that a load balancer sends its users elsewhere,
// and with 200 again once it is back.
func TestClusterReadyz(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	node := chattest.Start(t, server.Config{Cluster: server.Cluster{NATS: nc.URL(0)}})
	ready := func() (int, string) {
		resp, body := node.Get(t, "/readyz")
		return resp.StatusCode, body
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
	longGrace := func(c *server.Config) { c.Grace = 10 * time.Second }
	nodeA := startNode(t, nc.URL(0), longGrace)
	nodeB := startNode(t, nc.URL(1), longGrace)
	const room = "/chat/v2_cluster_resume"
	ann := nodeA.JoinV2(t, room, "ann", "ann")
	bob := nodeB.JoinV2(t, room, "bob", "bob")
	ann.ReadOps(1) // bob entered
	ann.SayV2("before", "a1")
	bob.ReadOps(1)

	ann.CloseNow()
	bob.SayV2("missed 1", "b1")
	bob.SayV2("missed 2", "b2")
	ann2, f := nodeB.Resume(t, room, ann)
	if f.Name() != "resumed" {
		t.Fatalf("resume on the other node: got %v, want resumed", f)
	}
	ops, _ := ann2.ReadOps(2)
	var got []string
	for _, op := range ops {
		if m, ok := op.Value.(map[string]any)["message"].(string); op.Op == "add" && ok {
			got = append(got, m)
		}
	}
	if want := []string{"missed 1", "missed 2"}; !slices.Equal(got, want) {
		t.Fatalf("missed changes = %v (%v), want the messages %q", got, ops, want)
	}
	fresh := nodeA.JoinV2(t, room, "", "fresh")
	for _, c := range []*chattest.Client{ann2, bob} {
		c.WantSynced(fresh)
	}
}

// TestClusterNodeSnapshots: a node with an id of its own (Cluster.Node) keeps
// snapshots of the shared state in Data and, restarted, folds on from
// them: its state equals the others', including what happened while it
// was down.
func TestClusterNodeSnapshots(t *testing.T) {
	t.Parallel()
	nc := natstest.StartCluster(t, 3)
	dir := t.TempDir()
	other := startNode(t, nc.URL(0))
	snapArgs := func(c *server.Config) { c.Cluster.Node, c.Data, c.SnapshotEvery = "snapper", dir, 5 }
	snapper := startNode(t, nc.URL(1), snapArgs)
	ann, _ := other.Join(t, "/chat", "ann", "ann")
	for i := range 12 {
		ann.Say(fmt.Sprint("before ", i))
		expectWritten(t, ann)
	}
	wantSameState(t, other, snapper)
	if err := snapper.Stop(); err != nil {
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
		ann.Say(fmt.Sprint("while it was down ", i))
		expectWritten(t, ann)
	}
	again := startNode(t, nc.URL(2), snapArgs)
	wantSameState(t, other, again)
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if now := snapshots(); now[len(now)-1] <= kept[len(kept)-1] {
		t.Fatalf("snapshots %v after the restart, %v before: want a newer one", now, kept)
	}
}
