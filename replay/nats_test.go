package replay_test

// Tests of replay from a cluster's log: a JetStream stream that real nodes
// wrote while real clients chatted must replay exactly as the same actions
// do from a file log.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
	"github.com/statecast/statecast/transport"
)

// rnOpen opens the stream on url as a node would (creating it if need
// be); the Log is closed when the test ends.
func rnOpen(t *testing.T, url, stream string) *nats.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := nats.Open(ctx, nats.Options{URLs: url, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rnReadAll returns every action of l.
func rnReadAll(t *testing.T, l store.Log) []*actions.Action {
	t.Helper()
	var all []*actions.Action
	err := l.Read(context.Background(), 1, func(a *actions.Action) error {
		c := *a
		all = append(all, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// rnCopyToFile writes the actions into a new file log and returns its
// directory: the same log as OpenDir reads it.
func rnCopyToFile(t *testing.T, all []*actions.Action) string {
	t.Helper()
	dir := t.TempDir()
	flog, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]*actions.Action, len(all))
	for i, a := range all {
		c := *a
		batch[i] = &c
	}
	if err := flog.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, a := range batch {
		if a.Seq != all[i].Seq {
			t.Fatalf("the file log gave action %d seq %d, the stream %d: the stream has a gap", i, a.Seq, all[i].Seq)
		}
	}
	if err := flog.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rnGhost appends, as a node "ghost" that then died without a word would
// have, a socket of gus in room chat that connects and writes.
func rnGhost(t *testing.T, l *nats.Log) {
	t.Helper()
	session := uuid.NewString()
	var batch []*actions.Action
	add := func(typ, user string, payload any) {
		batch = append(batch, &actions.Action{ID: uuid.NewString(), Type: typ, Room: "chat", Session: session, User: user, At: time.Now().UTC(), Payload: payload})
	}
	add(actions.TypeOpenSession, "", actions.Open{Node: "ghost"})
	add(actions.TypeConnect, "gus-id", actions.Connect{Username: "gus", Fallback: uuid.NewString()})
	add(actions.TypeWriteMessage, "gus-id", actions.WriteMessage{Message: "boo"})
	for _, a := range batch { // one at a time, as a node dispatches them
		if err := l.Append(context.Background(), []*actions.Action{a}); err != nil {
			t.Fatal(err)
		}
	}
}

// rnPresence reads the next frame of c and fails unless it is the presence
// event name (joined or disconnected) for id and username.
func rnPresence(t *testing.T, c *chattest.Client, name, id, username string) {
	t.Helper()
	if e := c.Expect(name); e.Str("id") != id || e.Str("username") != username || e.Str("name") != username {
		t.Fatalf("%s = %v, want id %q username/name %q", name, e, id, username)
	}
}

// TestReplayNATS: two nodes on one NATS server, node-a and node-b, share
// the stream "chatlog". ann (on node-a) and bob (on node-b) chat in room
// chat, dave (node-a) and cat (node-b) in room ops; gus, on a node that
// died, shows up in chat and is announced gone by a survivor's node/down;
// node-b stops, and its users, left in their grace periods, go with
// node-b's node/down. Then replay of the live stream, with many configs,
// must print exactly what replay prints for a file log holding the same
// actions.
func TestReplayNATS(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	url, stream := nc.URL(0), "chatlog"
	node := func(id string) *chattest.Server {
		return chattest.Start(t, server.Config{
			Cluster: server.Cluster{NATS: url, Stream: stream, Node: id, Lease: time.Second},
			Grace:   300 * time.Millisecond, History: 4, Transport: transport.Config{PingInterval: time.Hour},
			RateLimit: middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf},
		})
	}
	a, b := node("node-a"), node("node-b")
	ann, _ := a.Join(t, "/chat", "ann-id", "ann")
	bob, _ := b.Join(t, "/chat", "bob-id", "bob")
	rnPresence(t, ann, "joined", "bob-id", "bob")
	dave, _ := a.Join(t, "/chat/ops", "dave-id", "dave")
	cat, _ := b.Join(t, "/chat/ops", "cat-id", "cat")
	rnPresence(t, dave, "joined", "cat-id", "cat")
	for i, c := range []*chattest.Client{ann, bob, ann, bob, ann} {
		c.Say(fmt.Sprint("chat ", i))
		ann.Expect("messageWritten")
		bob.Expect("messageWritten")
	}
	cat.Say("ops 1")
	dave.Expect("messageWritten")
	cat.Expect("messageWritten")

	rnGhost(t, rnOpen(t, url, stream))
	for _, c := range []*chattest.Client{ann, bob} {
		rnPresence(t, c, "joined", "gus-id", "gus")
		c.Expect("messageWritten")
		rnPresence(t, c, "disconnected", "gus-id", "gus") // node/down ghost, after the lease
	}
	// bob and cat read, so that node-b's close handshakes end at once.
	for _, c := range []*chattest.Client{bob, cat} {
		go func() {
			for {
				if _, _, err := c.Conn().Read(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("node-b: %v", err)
	}
	rnPresence(t, ann, "disconnected", "bob-id", "bob") // node/down node-b
	rnPresence(t, dave, "disconnected", "cat-id", "cat")
	ann.Say("chat alone")
	ann.Expect("messageWritten")
	time.Sleep(500 * time.Millisecond) // a late repeat of a node/down, if any

	l := rnOpen(t, url, stream)
	all := rnReadAll(t, l)
	dir := rnCopyToFile(t, all)
	var downs []string
	var write, mid *actions.Action
	for _, a := range all {
		switch {
		case a.Type == actions.TypeNodeDown:
			downs = append(downs, a.Payload.(actions.NodeDown).Node)
		case a.Type == actions.TypeWriteMessage && a.Payload.(actions.WriteMessage).Message == "chat 2":
			write = a
		case a.Type == actions.TypeWriteMessage && a.Payload.(actions.WriteMessage).Message == "ops 1":
			mid = a
		}
	}
	if !slices.Contains(downs, "ghost") || !slices.Contains(downs, "node-b") || write == nil || mid == nil {
		t.Fatalf("the story did not go as planned: node/down for %v, in %d actions", downs, len(all))
	}

	for _, c := range []replay.Config{
		{},
		{Format: replay.JSON},
		{Until: replay.Until{Seq: write.Seq}},
		{Until: replay.Until{Seq: mid.Seq}, Format: replay.JSON},
		{Until: replay.Until{Seq: 100000}},
		{Until: replay.Until{Time: write.At}},
		{Until: replay.Until{Time: all[0].At.Add(-time.Second)}},
		{Filter: replay.Filter{Room: "ops"}},
		{Filter: replay.Filter{Room: "chat"}, Until: replay.Until{Seq: mid.Seq}},
		{Filter: replay.Filter{Room: "lobby"}},
		{Filter: replay.Filter{Type: "message/write"}},
		{Filter: replay.Filter{Type: "node/down"}, Format: replay.JSON},
		{Filter: replay.Filter{Type: "session/open"}},
		{Filter: replay.Filter{User: "ann-id"}},
		{Filter: replay.Filter{User: "gus-id"}, Diff: true},
		{Diff: true},
		{Diff: true, Format: replay.JSON},
		{Diff: true, Filter: replay.Filter{Room: "ops"}},
		{Diff: true, Filter: replay.Filter{Room: "chat"}, Format: replay.JSON, Until: replay.Until{Seq: uint64(len(all) - 1)}},
		{Verify: true},
		{Until: replay.Until{Seq: mid.Seq}, Progress: "on"},
		{Diff: true, Progress: "on"},
	} {
		c.History = 4
		fromFile := c
		fromFile.Dir = dir
		want, wantErr, err := rpRun(fromFile)
		if err != nil {
			t.Fatalf("replay of the file %+v: %v", c, err)
		}
		c.NATS, c.Stream = url, stream
		got, gotErr, err := rpRun(c)
		if err != nil {
			t.Errorf("replay of the stream %+v: %v", c, err)
			continue
		}
		if got != want || gotErr != wantErr {
			t.Errorf("replay of the stream %+v: got\n%s\n%q\nwant (replay of a file of the same actions)\n%s\n%q", c, got, gotErr, want, wantErr)
		}
	}

	// What the listing shows of the cluster's actions.
	diff := rpMust(t, replay.Config{NATS: url, Stream: stream, History: 4, Diff: true})
	for _, want := range []string{
		"session/open     room=chat user= node=node-a\n",
		"session/open     room=chat user= node=ghost\n",
		"node/down        room= user= node=ghost\n          room chat: - socket ",
		" of gus-id closed\n          room chat: - user gus-id (gus) left the user list\n",
		"node/down        room= user= node=node-b\n          room chat: - user bob-id (bob) left the user list\n          room ops: - user cat-id (cat) left the user list\n",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff of the stream does not show %q:\n%s", want, diff)
		}
	}
	// And the state is what ann and dave see.
	final := rpMust(t, replay.Config{NATS: url, Stream: stream, History: 4})
	for _, want := range []string{"\nroom chat: 1 users, 1 open sockets, 4 messages\n  users: ann (ann-id)\n", "\nroom ops: 1 users, 1 open sockets, 1 messages\n  users: dave (dave-id)\n"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final state lacks %q:\n%s", want, final)
		}
	}
	if last := l.LastSeq(); last != uint64(len(all)) {
		t.Fatalf("the stream grew from %d to %d actions while replay ran: the comparison is void", len(all), last)
	}
}

// Replay only reads: a stream that does not exist is an error naming it
// and the servers, and is not created.
func TestReplayNATSMissingStream(t *testing.T) {
	t.Parallel()
	nc := natstest.StartServer(t)
	url := nc.URL(0)
	js := jetStreamAt(t, url)
	for _, tc := range []struct {
		c      replay.Config
		stream string
	}{
		{replay.Config{NATS: url}, "statecast"},
		{replay.Config{NATS: url, Stream: "other", Diff: true}, "other"},
		{replay.Config{NATS: url + "," + url, Stream: "other", Verify: true}, "other"},
	} {
		out, errOut, err := rpRun(tc.c)
		want := "stream " + tc.stream + " not found on " + tc.c.NATS + ": no action log to replay (replay never creates a stream; is -nats-stream the servers' stream?)"
		if err == nil || err.Error() != want || out != "" || errOut != "" {
			t.Errorf("replay %+v: error %v, output %q %q\nwant error %s", tc.c, err, out, errOut, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = js.Stream(ctx, tc.stream)
		cancel()
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("replay %+v: after it, stream %s: %v, want not found", tc.c, tc.stream, err)
		}
	}
	// Nobody listening: the error names the URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + ln.Addr().String()
	ln.Close()
	if _, _, err := rpRun(replay.Config{NATS: dead}); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("replay of %s (nobody listening): %v", dead, err)
	}
}

// jetStreamAt connects to the NATS server at url for the test's own
// JetStream requests; the connection closes when the test ends.
func jetStreamAt(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	conn, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
