package chattest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestV1: two v1 clients join, one writes, both see it; Stop closes their
// sockets with 1001 and may be called twice.
func TestV1(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Data: chattest.Memory})
	if s.Config.Data != chattest.Memory || s.Config.Transport.Addr != s.Addr().String() {
		t.Fatalf("Config = data %q addr %q, want Memory and %s", s.Config.Data, s.Config.Transport.Addr, s.Addr())
	}
	ann, connected := s.Join(t, "/chat/room", "u-ann", "ann")
	if connected.Str("id") != "u-ann" {
		t.Fatalf("connected = %v, want id u-ann", connected)
	}
	bob, _ := s.Join(t, "/chat/room", "u-bob", "bob")
	ann.Expect("joined")
	ann.Say("hello")
	for _, c := range []*chattest.Client{ann, bob} {
		e := c.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" })
		list := e.List("messagesList")
		if len(list) != 1 || list[0].(map[string]any)["message"] != "hello" {
			t.Fatalf("messageWritten = %v, want one message hello", e)
		}
	}
	// A client of another room sees none of it.
	other, _ := s.Join(t, "/chat/other", "u-carl", "carl")
	other.NoFrameWithin(50 * time.Millisecond)
	// The server's close handshake waits for the clients' replies: read
	// while it stops.
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	ann.ExpectClose(websocket.StatusGoingAway)
	bob.ExpectClose(websocket.StatusGoingAway)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, _, err := chattest.DialURL(t, s.URL("/chat/room")); err == nil {
		t.Fatal("dialled a stopped server")
	}
}

// TestV2Mirror: a v2 client's mirror follows the room's changes and equals
// a fresh snapshot; a restart on s.Config keeps the data and resume works.
func TestV2Mirror(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann := s.JoinV2(t, "/chat/room", "u-ann", "ann")
	if ann.Subprotocol() != chattest.V2Protocol || ann.Name != "ann" || ann.Token == "" {
		t.Fatalf("client = subprotocol %q name %q token %q", ann.Subprotocol(), ann.Name, ann.Token)
	}
	seq := ann.SayV2("one", "c1")
	if seq != ann.LastSeq {
		t.Fatalf("ack seq %d, mirror at %d", seq, ann.LastSeq)
	}
	bob := s.JoinV2(t, "/chat/room", "", "bob")
	ann.WantSynced(bob)
	if got := bob.State().Texts(); !reflect.DeepEqual(got, []string{"one"}) {
		t.Fatalf("bob's texts = %v", got)
	}
	if n, _ := ann.Patches(); n < 2 {
		t.Fatalf("ann applied %d patches, want at least 2 (her message, bob's join)", n)
	}
	ann.Close()
	again, e := s.Resume(t, "/chat/room", ann)
	if e.Name() != "resumed" {
		t.Fatalf("resume: %v", e)
	}
	again.CatchUp(bob.LastSeq)

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop() }()
	again.ExpectClose(websocket.StatusGoingAway)
	bob.ExpectClose(websocket.StatusGoingAway)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	r := chattest.Start(t, s.Config)
	if r.Addr().String() != s.Addr().String() {
		t.Fatalf("restarted on %s, want %s", r.Addr(), s.Addr())
	}
	carl := r.JoinV2(t, "/chat/room", "", "carl")
	if got := carl.State().Texts(); !reflect.DeepEqual(got, []string{"one"}) {
		t.Fatalf("after a restart, texts = %v, want [one]", got)
	}
	if v := r.Metric(t, "statecast_connections_open"); v != 1 {
		t.Fatalf("statecast_connections_open = %v, want 1 (carl)", v)
	}
}
