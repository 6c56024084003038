package natstest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/statecast/statecast/store/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCluster creates an R3 stream right after StartCluster, stops its
// leader, sees another take over, and restarts the stopped server.
func TestCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	if n := len(strings.Split(c.URLs(), ",")); n != 3 || c.N() != 3 {
		t.Fatalf("URLs() %q for %d servers", c.URLs(), c.N())
	}
	nc, err := natsgo.Connect(c.URLs(), natsgo.MaxReconnects(-1), natsgo.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "s", Subjects: []string{"s"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	leader := c.StreamLeader("s")
	if leader < 0 || c.Index(c.Name(leader)) != leader {
		t.Fatalf("StreamLeader = %d", leader)
	}
	c.Shutdown(leader)
	if c.Running(leader) || c.Server(leader) != nil {
		t.Fatal("a server shut down still runs")
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.StreamLeader("s") < 0 {
		if time.Now().After(deadline) {
			t.Fatal("no new stream leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := js.Publish(ctx, "s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Restart(leader)
	if !c.Running(leader) {
		t.Fatal("a restarted server does not run")
	}
	// The restarted server serves clients at the same URL.
	nc2, err := natsgo.Connect(c.URL(leader))
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	if nc2.ConnectedServerName() != c.Name(leader) {
		t.Fatalf("connected to %s, want %s", nc2.ConnectedServerName(), c.Name(leader))
	}
}

func TestServer(t *testing.T) {
	c := natstest.StartServer(t)
	nc, err := natsgo.Connect(c.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "s", Subjects: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	c.Shutdown(0)
	c.Restart(0)
	nc, err = natsgo.Connect(c.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	s, err = js.Stream(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("after a restart the stream holds %d messages, want 1", n)
	}
}
