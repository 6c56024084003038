package chat_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

func TestCodecRoundTripIsCanonical(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{History: 3})
	withID := write("q", "s2", "c")
	withID.Payload = actions.WriteMessage{Message: "c", ClientID: "k1"}
	s := run(reduce, []*actions.Action{
		open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "a"), write("r", "s1", "b"),
		open("q", "s2"), connect("q", "s2", "2", "bob"), withID,
		open("r", "s3"), connect("r", "s3", "2", "bob"), closeSess("r", "s1", "1"), write("r", "s3", "d"),
		write("r", "s3", "e"), open("r", "s4"),
	})
	var c chat.Codec
	data, err := c.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Encode(back)
	if !bytes.Equal(data, again) {
		t.Fatalf("round trip changed the state:\n%s\n%s", data, again)
	}
	// The decoded state keeps working like the original.
	next := func(st chat.State) []byte {
		a := write("r", "s3", "f")
		a.Seq = 14
		out, _ := c.Encode(reduce(st, a))
		return out
	}
	if !bytes.Equal(next(s), next(back)) {
		t.Fatal("the decoded state reduces differently")
	}
	if _, ok := back.Room("q").Written("2", "k1"); !ok {
		t.Fatal("the decoded state forgot a clientId")
	}
	if _, err := c.Decode([]byte(`{"version":99}`)); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

// TestCodecKeepsNodes: a snapshot keeps the node of every socket and of
// every grace period, so that a node/down after recovery removes them.
func TestCodecKeepsNodes(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{})
	s := run(reduce, acts(on("r", "s1", "n1", "ann"), on("r", "s2", "n2", "bob"), one(openOn("r", "s3", "n2")),
		one(closeSess("r", "s1", "ann"))))
	var c chat.Codec
	data, err := c.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Encode(back); !bytes.Equal(data, again) {
		t.Fatalf("round trip changed the state:\n%s\n%s", data, again)
	}
	if !bytes.Contains(data, []byte(`"leftOn":"n1"`)) || !bytes.Contains(data, []byte(`"node":"n2"`)) {
		t.Fatalf("the snapshot lost the nodes: %s", data)
	}
	for _, st := range []chat.State{s, back} {
		if got := st.Nodes(); !slices.Equal(got, []string{"n1", "n2"}) {
			t.Fatalf("Nodes() = %v", got)
		}
	}
	down := func(st chat.State) []byte {
		a := nodeDown("n1")
		a.Seq = 8
		out, _ := c.Encode(reduce(st, a))
		return out
	}
	if got, want := down(back), down(s); !bytes.Equal(got, want) || bytes.Contains(got, []byte(`"ann"`)) {
		t.Fatalf("node/down after decoding:\n got %s\nwant %s (without ann)", got, want)
	}
}

// TestCodecReadsSnapshotsFromBeforeNodes: a snapshot written before
// sockets had nodes decodes as a state whose sockets and grace periods are
// no node's, and a single-node state encodes to the same bytes as before.
func TestCodecReadsSnapshotsFromBeforeNodes(t *testing.T) {
	t.Parallel()
	old := `{"version":1,"rooms":[{"name":"r","messages":[],` +
		`"users":[{"user":{"id":"1","username":"ann"},"entered":2,"sockets":1},{"user":{"id":"2","username":"bob"},"entered":4,"sockets":0,"leftAt":5}],` +
		`"sessions":[{"id":"s1","userId":"1","username":"ann","isEstablishingConnection":false,"isConnected":true},` +
		`{"id":"s9","isEstablishingConnection":true,"isConnected":false}]}],` +
		`"ids":[{"id":"1","rooms":1},{"id":"2","rooms":1,"tokens":["t"]}]}`
	var c chat.Codec
	s, err := c.Decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Encode(s); string(again) != old {
		t.Fatalf("re-encoded:\n%s\nwant\n%s", again, old)
	}
	if sess, _ := s.Room("r").Session("s1"); sess.Node != "" || !sess.IsConnected {
		t.Fatalf("session s1 = %+v", sess)
	}
	if p, _ := s.Room("r").Presence("2"); p.LeftOn != "" || p.LeftAt != 5 {
		t.Fatalf("bob's grace = %+v", p)
	}
	if n := s.Nodes(); len(n) != 0 {
		t.Fatalf("Nodes() = %v, want none", n)
	}
}
