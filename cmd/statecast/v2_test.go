package main

// End-to-end tests of PROTOCOL.md's v2 dialect (state sync): real WebSocket
// clients that offer the statecast.v2 subprotocol keep a mirror of their
// room, applying every patch with a real RFC 6902 implementation
// (github.com/evanphx/json-patch), and compare it with fresh snapshots.
// The random version is v2_property_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/uuid"
)

// ---- v2 helpers, shared with v2_property_test.go ----

const v2Proto = "statecast.v2"

// v2Frame is one decoded v2 server frame.
type v2Frame struct {
	Event    string          `json:"event"`
	Seq      *uint64         `json:"seq"`
	State    json.RawMessage `json:"state"`
	ID       string          `json:"id"`
	Token    string          `json:"token"`
	Ops      json.RawMessage `json:"ops"`
	ClientID string          `json:"clientId"`
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Ref      string          `json:"ref"`
	raw      []byte
}

func (f v2Frame) seq() uint64 {
	if f.Seq == nil {
		return 0
	}
	return *f.Seq
}

// v2Op is one RFC 6902 operation of a patch.
type v2Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func (o v2Op) String() string {
	if o.Value == nil {
		return o.Op + " " + o.Path
	}
	v, _ := json.Marshal(o.Value)
	return o.Op + " " + o.Path + " " + string(v)
}

// v2Client is a v2 socket and its mirror of the room: the state of its
// snapshot with every patch since applied by json-patch.
type v2Client struct {
	*client
	name      string
	id, token string
	seq       uint64 // the seq of the last change the mirror holds
	doc       []byte // the mirror, JSON
	// snapSeq and snapDoc are the last snapshot this socket received.
	snapSeq uint64
	snapDoc []byte
	// patches counts the patch frames applied, merged the ones with more
	// than one change (seen by their messages).
	patches, merged int
}

// dialV2 opens a socket to path offering the statecast.v2 subprotocol and
// fails unless the server selected it.
func (s *testServer) dialV2(path string) *client {
	s.t.Helper()
	c, err := s.dialProtocols(path, []string{v2Proto})
	if err != nil {
		s.t.Fatalf("dial %s: %v", path, err)
	}
	if got := c.conn.Subprotocol(); got != v2Proto {
		s.t.Fatalf("dial %s offering %s: server selected subprotocol %q", path, v2Proto, got)
	}
	return c
}

func (s *testServer) dialProtocols(path string, protocols []string) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, s.url(path), &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	s.t.Cleanup(func() { conn.CloseNow() })
	return &client{t: s.t, conn: conn}, nil
}

// connectV2 dials path in v2, sends connecting with fields (plus the
// event) and returns the client with its first reply, already handled (a
// snapshot becomes the mirror; a resumed keeps the mirror of from).
func (s *testServer) connectV2(path, name string, from *v2Client, fields map[string]any) (*v2Client, v2Frame) {
	s.t.Helper()
	c := &v2Client{client: s.dialV2(path), name: name}
	if from != nil {
		c.id, c.token, c.seq, c.doc = from.id, from.token, from.seq, from.doc
	}
	c.send(connecting(fields))
	f := c.read()
	if f.Event != "snapshot" && f.Event != "resumed" {
		s.t.Fatalf("%s: reply to connecting = %s, want snapshot or resumed", name, f.raw)
	}
	return c, f
}

// joinV2 connects a new v2 client with id (none when empty) and username
// and fails unless it gets a snapshot for that id.
func (s *testServer) joinV2(path, id, username string) *v2Client {
	s.t.Helper()
	fields := map[string]any{"username": username}
	if id != "" {
		fields["id"] = id
	}
	c, f := s.connectV2(path, username, nil, fields)
	if f.Event != "snapshot" {
		s.t.Fatalf("%s: got %s, want a snapshot", username, f.raw)
	}
	if id != "" && c.id != id {
		s.t.Fatalf("%s: snapshot id = %q, want %q", username, c.id, id)
	}
	return c
}

// resume reconnects c's user to path with its id, token and lastSeq and
// returns the new client (carrying c's mirror) and the reply.
func (s *testServer) resume(path string, c *v2Client) (*v2Client, v2Frame) {
	s.t.Helper()
	return s.connectV2(path, c.name, c, map[string]any{
		"id": c.id, "username": c.name, "token": c.token, "lastSeq": c.seq,
	})
}

// read reads the next frame within 5s and handles it: a snapshot replaces
// the mirror, a patch is applied to it, a resumed is checked against it.
func (c *v2Client) read() v2Frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("%s: reading: %v", c.name, err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("%s: server sent a binary frame", c.name)
	}
	var f v2Frame
	if err := json.Unmarshal(b, &f); err != nil || f.Event == "" {
		c.t.Fatalf("%s: server sent a frame that is not a JSON object with an event: %q", c.name, b)
	}
	f.raw = b
	switch f.Event {
	case "snapshot":
		c.takeSnapshot(f)
	case "resumed":
		if f.Seq == nil || f.seq() != c.seq {
			c.t.Fatalf("%s: resumed = %s, want seq %d (the lastSeq sent)", c.name, b, c.seq)
		}
		if f.ID != c.id || f.Token == "" {
			c.t.Fatalf("%s: resumed = %s, want id %q and a token", c.name, b, c.id)
		}
		c.token = f.Token
	case "patch":
		c.apply(f)
	case "ack", "error":
	default:
		c.t.Fatalf("%s: unexpected v2 event %s", c.name, b)
	}
	return f
}

// expectV2 reads the next frame and fails unless it is the named event.
func (c *v2Client) expectV2(name string) v2Frame {
	c.t.Helper()
	f := c.read()
	if f.Event != name {
		c.t.Fatalf("%s: got %s, want event %s", c.name, f.raw, name)
	}
	return f
}

// takeSnapshot checks a snapshot's shape and makes its state the mirror.
func (c *v2Client) takeSnapshot(f v2Frame) {
	c.t.Helper()
	if f.Seq == nil || f.seq() == 0 || f.ID == "" || f.Token == "" {
		c.t.Fatalf("%s: snapshot %s lacks a seq, id or token", c.name, f.raw)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(f.State, &st); err != nil {
		c.t.Fatalf("%s: snapshot state is not an object: %s", c.name, f.raw)
	}
	if len(st) != 4 || string(st["isConnected"]) != "true" || string(st["isEstablishingConnection"]) != "false" {
		c.t.Fatalf("%s: snapshot state = %s, want exactly messages, userList, isConnected true, isEstablishingConnection false", c.name, f.State)
	}
	for _, k := range []string{"messages", "userList"} {
		var list []map[string]any
		if err := json.Unmarshal(st[k], &list); err != nil || list == nil {
			c.t.Fatalf("%s: snapshot state.%s is not an array of objects: %s", c.name, k, f.State)
		}
	}
	c.id, c.token, c.seq = f.ID, f.Token, f.seq()
	c.doc = append([]byte(nil), f.State...)
	c.snapSeq, c.snapDoc = c.seq, c.doc
}

// apply checks a patch (a growing seq, a non-empty list of operations,
// none replacing the whole state or touching the per-socket fields) and
// applies it to the mirror with json-patch.
func (c *v2Client) apply(f v2Frame) {
	c.t.Helper()
	if c.doc == nil {
		c.t.Fatalf("%s: patch before any snapshot: %s", c.name, f.raw)
	}
	if f.Seq == nil || f.seq() <= c.seq {
		c.t.Fatalf("%s: patch %s does not follow seq %d", c.name, f.raw, c.seq)
	}
	var ops []v2Op
	if err := json.Unmarshal(f.Ops, &ops); err != nil || len(ops) == 0 {
		c.t.Fatalf("%s: patch ops are not a non-empty array: %s", c.name, f.raw)
	}
	adds := 0
	for _, op := range ops {
		if !strings.HasPrefix(op.Path, "/messages/") && !strings.HasPrefix(op.Path, "/userList/") {
			c.t.Fatalf("%s: patch touches %q: %s", c.name, op.Path, f.raw)
		}
		if op.Op == "add" && op.Path == "/messages/-" {
			adds++
		}
	}
	p, err := jsonpatch.DecodePatch(f.Ops)
	if err != nil {
		c.t.Fatalf("%s: patch is not RFC 6902: %v: %s", c.name, err, f.raw)
	}
	doc, err := p.Apply(c.doc)
	if err != nil {
		c.t.Fatalf("%s: applying patch %s to %s: %v", c.name, f.Ops, c.doc, err)
	}
	c.doc, c.seq = doc, f.seq()
	c.patches++
	if adds > 1 {
		c.merged++
	}
}

// ops decodes a patch's operations.
func (f v2Frame) ops(t *testing.T) []v2Op {
	t.Helper()
	var ops []v2Op
	if err := json.Unmarshal(f.Ops, &ops); err != nil {
		t.Fatalf("patch ops: %v: %s", err, f.raw)
	}
	return ops
}

// readOps reads patches until they carried n operations in all (several
// changes may arrive merged into one patch) and returns them; a frame
// other than a patch, or more operations, fails the test.
func (c *v2Client) readOps(n int) (ops []v2Op, last uint64) {
	c.t.Helper()
	for len(ops) < n {
		f := c.read()
		if f.Event != "patch" {
			c.t.Fatalf("%s: got %s, want a patch (%d of %d operations so far: %v)", c.name, f.raw, len(ops), n, ops)
		}
		ops, last = append(ops, f.ops(c.t)...), f.seq()
	}
	if len(ops) != n {
		c.t.Fatalf("%s: got operations %v, want %d", c.name, ops, n)
	}
	return ops, last
}

// catchUp reads patches until the mirror is at seq or later.
func (c *v2Client) catchUp(seq uint64) {
	c.t.Helper()
	for c.seq < seq {
		if f := c.read(); f.Event != "patch" {
			c.t.Fatalf("%s: got %s while catching up to seq %d", c.name, f.raw, seq)
		}
	}
}

// wantSynced fails unless c's mirror, caught up to ref's snapshot, equals
// it: ref must be a client that has just received its snapshot.
func (c *v2Client) wantSynced(ref *v2Client) {
	c.t.Helper()
	c.catchUp(ref.snapSeq)
	if c.seq != ref.snapSeq {
		c.t.Fatalf("%s: mirror at seq %d, past the snapshot's %d", c.name, c.seq, ref.snapSeq)
	}
	if !jsonEqual(c.doc, ref.snapDoc) {
		c.t.Fatalf("%s: mirror at seq %d differs from a fresh snapshot:\nmirror:   %s\nsnapshot: %s", c.name, c.seq, c.doc, ref.snapDoc)
	}
}

// state decodes the mirror.
func (c *v2Client) state() v2State {
	c.t.Helper()
	var st v2State
	if err := json.Unmarshal(c.doc, &st); err != nil {
		c.t.Fatalf("%s: mirror: %v", c.name, err)
	}
	return st
}

// v2State is a mirror, decoded.
type v2State struct {
	Messages []struct {
		ID, UserID, Username, Message, At, ClientID string
		Seq                                         uint64
	} `json:"messages"`
	UserList []struct{ ID, Username string } `json:"userList"`
}

func (st v2State) texts() []string {
	out := []string{}
	for _, m := range st.Messages {
		out = append(out, m.Message)
	}
	return out
}

func (st v2State) users() []string {
	out := []string{}
	for _, u := range st.UserList {
		out = append(out, u.ID+"="+u.Username)
	}
	return out
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// writeID sends a writeMessage with a clientId.
func (c *client) writeID(text, clientID string) {
	c.t.Helper()
	c.send(map[string]any{"event": "writeMessage", "message": text, "clientId": clientID})
}

// say writes text with clientID and reads until its ack, checking that
// the message reached the mirror first; it returns the message's seq.
func (c *v2Client) say(text, clientID string) uint64 {
	c.t.Helper()
	c.writeID(text, clientID)
	for {
		f := c.read()
		switch f.Event {
		case "patch":
			continue
		case "ack":
			if f.ClientID != clientID || f.Seq == nil {
				c.t.Fatalf("%s: ack %s, want clientId %q", c.name, f.raw, clientID)
			}
			st := c.state()
			found := false
			for _, m := range st.Messages {
				found = found || m.Seq == f.seq() && m.ClientID == clientID && m.Message == text && m.UserID == c.id
			}
			if n := len(st.Messages); !found && (n == 0 || st.Messages[n-1].Seq < f.seq()) {
				c.t.Fatalf("%s: ack %s arrived before the message's patch: mirror %s", c.name, f.raw, c.doc)
			}
			return f.seq()
		default:
			c.t.Fatalf("%s: got %s while waiting for the ack of %q", c.name, f.raw, clientID)
		}
	}
}

// ---- dialect choice ----

func TestV2Subprotocol(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cases := []struct {
		offer []string
		want  string
	}{
		{nil, ""},
		{[]string{"chat", "statecast.v1"}, ""},
		{[]string{v2Proto}, v2Proto},
		{[]string{"chat", v2Proto}, v2Proto},
	}
	for i, tc := range cases {
		c, err := s.dialProtocols("/chat/v2_proto", tc.offer)
		if err != nil {
			t.Fatalf("offering %q: %v", tc.offer, err)
		}
		if got := c.conn.Subprotocol(); got != tc.want {
			t.Fatalf("offering %q: server selected %q, want %q", tc.offer, got, tc.want)
		}
		id := fmt.Sprintf("u%d", i)
		c.send(connecting(map[string]any{"id": id, "username": id}))
		e := c.expectAny()
		if tc.want == "" {
			if e.str("event") != "connected" || e.str("id") != id {
				t.Fatalf("offering %q: got %v, want a v1 connected", tc.offer, e)
			}
		} else if e.str("event") != "snapshot" || e.str("id") != id {
			t.Fatalf("offering %q: got %v, want a v2 snapshot", tc.offer, e)
		}
		c.leave()
	}
}

// ---- snapshots ----

func TestV2Snapshot(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	// An empty room: lists are [] (not null), the user is in its own list.
	solo := s.joinV2("/chat/v2_snap_empty", "solo", "solo")
	if !jsonEqual(solo.doc, []byte(`{"messages":[],"userList":[{"id":"solo","username":"solo"}],"isConnected":true,"isEstablishingConnection":false}`)) {
		t.Fatalf("snapshot of an empty room = %s", solo.doc)
	}

	ann, _ := s.join("/chat/v2_snap", "ann", "ann")
	ann.write("one")
	ann.expectWritten()
	ann.write("two <b>&</b>")
	written := ann.expect("messageWritten")

	bob := s.joinV2("/chat/v2_snap", "bob", "bob")
	ann.expectPresence("joined", "bob", "bob")
	msgs, _ := json.Marshal(written["messagesList"])
	want := fmt.Sprintf(`{"messages":%s,"userList":[{"id":"ann","username":"ann"},{"id":"bob","username":"bob"}],"isConnected":true,"isEstablishingConnection":false}`, msgs)
	if got := v1View(t, bob.doc); !jsonEqual(got, []byte(want)) {
		t.Fatalf("snapshot state = %s\nwant %s (plus each message's id and at)", bob.doc, want)
	}
	if st := bob.state(); bob.seq <= st.Messages[1].Seq || bob.token == solo.token {
		t.Fatalf("snapshot seq %d, token %q: want a seq after the last message's %d and a token of its own", bob.seq, bob.token, st.Messages[1].Seq)
	}

	// No id: the server makes one (a UUID).
	anon := s.joinV2("/chat/v2_snap", "", "anon")
	if _, err := uuid.Parse(anon.id); err != nil {
		t.Fatalf("server-made id %q is not a UUID", anon.id)
	}
	if anon.seq <= bob.seq {
		t.Fatalf("seqs: bob's snapshot %d, anon's later one %d", bob.seq, anon.seq)
	}
	bob.wantSynced(anon)
}

// ---- patches ----

func TestV2Patches(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-history", "3", "-grace", "150ms")
	const room = "/chat/v2_patches"
	w := s.joinV2(room, "w", "watcher")

	wantOps := func(got []v2Op, want ...string) {
		t.Helper()
		var strs []string
		for _, op := range got {
			strs = append(strs, op.String())
		}
		if strings.Join(strs, "\n") != strings.Join(want, "\n") {
			t.Fatalf("operations:\n%s\nwant:\n%s", strings.Join(strs, "\n"), strings.Join(want, "\n"))
		}
	}
	// asV1 reduces the messages that ops add to v1's fields.
	asV1 := func(ops []v2Op) []v2Op {
		for i, op := range ops {
			if op.Op == "add" && strings.HasPrefix(op.Path, "/messages/") {
				raw, _ := json.Marshal(op.Value)
				ops[i].Value = nil
				json.Unmarshal(v1View(t, raw), &ops[i].Value)
			}
		}
		return ops
	}
	msgJSON := func(e event) (string, float64) {
		list := e.list("messagesList")
		m := list[len(list)-1]
		b, _ := json.Marshal(m)
		return string(b), m.(map[string]any)["seq"].(float64)
	}

	// A v1 user joins: one add at the end of the user list.
	ann, _ := s.join(room, "ann", "ann")
	ops, _ := w.readOps(1)
	wantOps(ops, `add /userList/- {"id":"ann","username":"ann"}`)

	// Messages: an add at the end of messages each, with the seq of the
	// message.
	for _, text := range []string{"m1", "m2", "m3"} {
		ann.write(text)
		m, seq := msgJSON(ann.expect("messageWritten"))
		ops, last := w.readOps(1)
		wantOps(asV1(ops), `add /messages/- `+m)
		if last != uint64(seq) {
			t.Fatalf("patch seq %d, want the message's %v", last, seq)
		}
	}
	// The window is full: the fourth message pushes the oldest out.
	ann.write("m4")
	m4, seq4 := msgJSON(ann.expect("messageWritten"))
	ops, last := w.readOps(2)
	wantOps(asV1(ops), `add /messages/- `+m4, `remove /messages/0`)
	if last != uint64(seq4) {
		t.Fatalf("patch seq %d, want the message's %v", last, seq4)
	}
	if got := w.state().texts(); !reflect.DeepEqual(got, []string{"m2", "m3", "m4"}) {
		t.Fatalf("mirror messages = %q", got)
	}

	// A second socket of a present user changes nothing; a new user is
	// added; a leaving user is removed (after the grace period) at its
	// index.
	ann2, _ := s.join(room, "ann", "ann")
	bob := s.joinV2(room, "bob", "bob")
	ops, _ = w.readOps(1)
	wantOps(ops, `add /userList/- {"id":"bob","username":"bob"}`)
	ann.leave()
	ann2.leave()
	ops, _ = w.readOps(1)
	wantOps(ops, `remove /userList/1`)
	bob.catchUp(w.seq)
	if got := bob.state().users(); !reflect.DeepEqual(got, []string{"w=watcher", "bob=bob"}) {
		t.Fatalf("bob's mirror users = %q", got)
	}

	// Both mirrors equal a fresh snapshot.
	fresh := s.joinV2(room, "", "fresh")
	w.wantSynced(fresh)
	bob.wantSynced(fresh)
	if w.patches < 8 || bob.patches < 2 {
		t.Fatalf("patches applied: watcher %d, bob %d", w.patches, bob.patches)
	}
}

// ---- acks and idempotent writes ----

func TestV2AckAndDuplicate(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const room = "/chat/v2_ack"
	ann := s.joinV2(room, "ann", "ann")
	bob := s.joinV2(room, "bob", "bob")
	ann.readOps(1) // bob joined
	carl, _ := s.join(room, "carl", "carl")
	ann.readOps(1)
	bob.readOps(1)

	seq1 := ann.say("hello", "c-1")
	if st := ann.state(); len(st.Messages) != 1 || st.Messages[0].Seq != seq1 || st.Messages[0].ClientID != "c-1" {
		t.Fatalf("ann's mirror after the ack of seq %d: %s", seq1, ann.doc)
	}
	// The same clientId again, even with another text: acked with the
	// original seq, nothing applied, so no patch comes before the ack.
	ann.writeID("hello again", "c-1")
	if f := ann.expectV2("ack"); f.ClientID != "c-1" || f.seq() != seq1 {
		t.Fatalf("ack of the re-sent write = %s, want clientId c-1, seq %d", f.raw, seq1)
	}
	// A new clientId is a new message; the same clientId of another user
	// too (clientIds are scoped to the user).
	seq2 := ann.say("second", "c-2")
	seq3 := bob.say("bob's c-1", "c-1")
	if !(seq1 < seq2 && seq2 < seq3) {
		t.Fatalf("seqs %d, %d, %d: want growing", seq1, seq2, seq3)
	}
	// Without a clientId: a patch, no ack.
	ann.write("no id")
	ann.readOps(2) // bob's c-1, then "no id"

	// Everyone saw each message once.
	want := []string{"hello", "second", "bob's c-1", "no id"}
	ann.client.nothingFor(100 * time.Millisecond)
	bob.catchUp(ann.seq)
	bob.client.nothingFor(0)
	for _, c := range []*v2Client{ann, bob} {
		if got := c.state().texts(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s's mirror messages = %q, want %q", c.name, got, want)
		}
	}
	var last []chatMsg
	for range want {
		last = carl.expectWritten()
	}
	wantTexts(t, last, want...)
	carl.nothingFor(0)
	fresh := s.joinV2(room, "", "fresh")
	ann.wantSynced(fresh)
	bob.wantSynced(fresh)
}

// ---- v1 and v2 in one room ----

func TestV2MixedDialects(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-history", "4")
	const room = "/chat/v2_mixed"
	ann, _ := s.join(room, "ann", "ann")
	bob := s.joinV2(room, "bob", "bob")
	ann.expectPresence("joined", "bob", "bob")
	carl, hello := s.join(room, "carl", "carl")
	wantUsers(t, hello, map[string]string{"ann": "ann", "bob": "bob", "carl": "carl"})
	ann.expectPresence("joined", "carl", "carl")
	bob.readOps(1)

	for i := range 6 {
		if i%2 == 0 {
			ann.write(fmt.Sprintf("v1 %d", i))
			want := 1
			if i >= 4 { // the window is full: the oldest message goes
				want = 2
			}
			bob.readOps(want)
		} else {
			bob.say(fmt.Sprintf("v2 %d", i), fmt.Sprintf("b%d", i))
		}
		annList, _ := json.Marshal(ann.expect("messageWritten")["messagesList"])
		carlList, _ := json.Marshal(carl.expect("messageWritten")["messagesList"])
		var mirror struct {
			Messages json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(bob.doc, &mirror); err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(annList, v1View(t, mirror.Messages)) || !jsonEqual(carlList, annList) {
			t.Fatalf("after message %d: v1 messagesLists\n%s\n%s\nv2 mirror\n%s", i, annList, carlList, mirror.Messages)
		}
	}
	fresh := s.joinV2(room, "", "fresh")
	bob.wantSynced(fresh)
}

// ---- ids and tokens ----

func TestV2Identity(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-grace", "400ms")

	t.Run("v2 cannot claim a present v1 id", func(t *testing.T) {
		ann, _ := s.join("/chat/v2_id1", "ann-1", "ann")
		mallory := s.connectV2Fields("/chat/v2_id1", map[string]any{"id": "ann-1", "username": "mallory"})
		if mallory.id == "ann-1" || mallory.id == "" {
			t.Fatalf("v2 claim of a present v1 id got id %q, want a fresh one", mallory.id)
		}
		if got := mallory.state().users(); !reflect.DeepEqual(got, []string{"ann-1=ann", mallory.id + "=mallory"}) {
			t.Fatalf("user list = %q", got)
		}
		ann.expectPresence("joined", mallory.id, "mallory")
	})

	t.Run("v1 without the token cannot claim a present bound id", func(t *testing.T) {
		bob := s.joinV2("/chat/v2_id2", "bob-2", "bob")
		for _, token := range []string{"", "wrong"} {
			fields := map[string]any{"id": "bob-2", "username": "mallory"}
			if token != "" {
				fields["token"] = token
			}
			c := s.dial("/chat/v2_id2")
			c.send(connecting(fields))
			e := c.expect("connected")
			if id := e.str("id"); id == "bob-2" || id == "" {
				t.Fatalf("v1 claim of a bound id with token %q got id %q, want a fresh one", token, id)
			}
			bob.readOps(1)
		}
		// With the right token, v1 keeps the id (a second socket: no patch).
		c := s.dial("/chat/v2_id2")
		c.send(connecting(map[string]any{"id": "bob-2", "username": "bob", "token": bob.token}))
		e := c.expect("connected")
		if e.str("id") != "bob-2" || e.str("token") == "" {
			t.Fatalf("v1 claim with the right token = %v, want id bob-2 and a token", e)
		}
		bob.client.nothingFor(50 * time.Millisecond)
	})

	t.Run("the right token keeps the id in another room", func(t *testing.T) {
		carl := s.joinV2("/chat/v2_id3a", "carl-3", "carl")
		other := s.connectV2Fields("/chat/v2_id3b", map[string]any{"id": "carl-3", "username": "carl", "token": carl.token})
		if other.id != "carl-3" || other.token == carl.token {
			t.Fatalf("v2 claim with the token in another room: id %q token %q", other.id, other.token)
		}
		// Both tokens stay valid.
		for i, token := range []string{carl.token, other.token} {
			c := s.dial("/chat/v2_id3c")
			c.send(connecting(map[string]any{"id": "carl-3", "username": "carl", "token": token}))
			if e := c.expect("connected"); e.str("id") != "carl-3" {
				t.Fatalf("token %d: v1 claim in a third room = %v, want id carl-3", i, e)
			}
		}
		// Without it, in yet another room: a fresh id.
		mallory := s.connectV2Fields("/chat/v2_id3d", map[string]any{"id": "carl-3", "username": "mallory", "token": "nope"})
		if mallory.id == "carl-3" {
			t.Fatal("v2 claim with a wrong token kept the id")
		}
	})

	t.Run("the binding ends when the id left every room", func(t *testing.T) {
		const a, b = "/chat/v2_id4a", "/chat/v2_id4b"
		wa := s.joinV2(a, "wa", "wa")
		wb := s.joinV2(b, "wb", "wb")
		dave := s.joinV2(a, "dave-4", "dave")
		dave2 := s.connectV2Fields(b, map[string]any{"id": "dave-4", "username": "dave", "token": dave.token})
		wa.readOps(1)
		wb.readOps(1)
		claim := func() string {
			t.Helper()
			c := s.dial("/chat/v2_id4c")
			c.send(connecting(map[string]any{"id": "dave-4", "username": "mallory"}))
			id := c.expect("connected").str("id")
			c.leave()
			return id
		}
		// Gone from room a, live in room b: still bound.
		dave.leave()
		ops, _ := wa.readOps(1)
		if ops[0].String() != "remove /userList/1" {
			t.Fatalf("room a: %v, want dave removed", ops)
		}
		if id := claim(); id == "dave-4" {
			t.Fatal("a v1 claim without the token took an id still present in another room")
		}
		// Inside the grace period in room b: still bound.
		dave2.conn.CloseNow()
		if id := claim(); id == "dave-4" {
			t.Fatal("a v1 claim without the token took an id inside its grace period")
		}
		// Gone everywhere: the binding ended, anyone may claim the id.
		ops, _ = wb.readOps(1)
		if ops[0].String() != "remove /userList/1" {
			t.Fatalf("room b: %v, want dave removed", ops)
		}
		if id := claim(); id != "dave-4" {
			t.Fatalf("a v1 claim of an id no longer present got %q, want dave-4", id)
		}
	})
}

// connectV2Fields connects a v2 client with the given connecting fields
// and fails unless it gets a snapshot.
func (s *testServer) connectV2Fields(path string, fields map[string]any) *v2Client {
	s.t.Helper()
	name, _ := fields["username"].(string)
	c, f := s.connectV2(path, name, nil, fields)
	if f.Event != "snapshot" {
		s.t.Fatalf("%s: got %s, want a snapshot", name, f.raw)
	}
	return c
}

// ---- resume ----

func TestV2Resume(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-grace", "5s")

	t.Run("missed changes", func(t *testing.T) {
		const room = "/chat/v2_resume1"
		ann := s.joinV2(room, "ann-r1", "ann")
		bob := s.joinV2(room, "bob-r1", "bob")
		ann.readOps(1)
		ann.say("before", "a1")
		bob.readOps(1)

		ann.conn.CloseNow()
		bob.say("missed 1", "b1")
		bob.say("missed 2", "b2")
		carl := s.joinV2(room, "carl-r1", "carl")
		bob.readOps(1)
		bob.say("missed 3", "b3")

		lastSeq, oldToken := ann.seq, ann.token
		ann2, f := s.resume(room, ann)
		if f.Event != "resumed" {
			t.Fatalf("resume: got %s, want resumed", f.raw)
		}
		if ann2.token == oldToken {
			t.Fatal("resumed handed out the old token, want a fresh one")
		}
		// Exactly the missed changes, in order, each once; then nothing.
		ops, _ := ann2.readOps(4)
		var got []string
		for _, op := range ops {
			if op.Op != "add" {
				t.Fatalf("missed operations %v: want adds only", ops)
			}
			v := op.Value.(map[string]any)
			if m, ok := v["message"]; ok {
				got = append(got, m.(string))
			} else {
				got = append(got, "joined "+v["id"].(string))
			}
		}
		if want := []string{"missed 1", "missed 2", "joined carl-r1", "missed 3"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("missed changes = %q, want %q", got, want)
		}
		if ann2.seq <= lastSeq {
			t.Fatalf("mirror seq %d after the resume from %d", ann2.seq, lastSeq)
		}
		ann2.client.nothingFor(50 * time.Millisecond)
		fresh := s.joinV2(room, "", "fresh")
		for _, c := range []*v2Client{ann2, bob, carl} {
			c.wantSynced(fresh)
		}

		// The old token is still valid: resume with it again.
		ann2.conn.CloseNow()
		bob.say("missed 4", "b4")
		ann2.token = oldToken
		ann3, f := s.resume(room, ann2)
		if f.Event != "resumed" {
			t.Fatalf("resume with the first token: got %s, want resumed", f.raw)
		}
		ops, _ = ann3.readOps(1)
		if v, _ := ops[0].Value.(map[string]any); ops[0].Path != "/messages/-" || v["message"] != "missed 4" {
			t.Fatalf("missed = %v", ops)
		}
		ann3.client.nothingFor(0)
	})

	t.Run("nothing missed", func(t *testing.T) {
		const room = "/chat/v2_resume2"
		ann := s.joinV2(room, "ann-r2", "ann")
		ann.say("hi", "a1")
		watcher, _ := s.join(room, "w-r2", "w")
		ann.readOps(1)
		ann.conn.CloseNow()
		ann2, f := s.resume(room, ann)
		if f.Event != "resumed" {
			t.Fatalf("resume: got %s, want resumed", f.raw)
		}
		ann2.client.nothingFor(50 * time.Millisecond)
		watcher.nothingFor(0) // the drop and the return announce nothing
		ann2.say("still here", "a2")
	})

	t.Run("wrong token", func(t *testing.T) {
		const room = "/chat/v2_resume3"
		ann := s.joinV2(room, "ann-r3", "ann")
		bob := s.joinV2(room, "bob-r3", "bob")
		ann.conn.CloseNow()
		ann.token = "forged"
		ann2, f := s.resume(room, ann)
		if f.Event != "snapshot" || ann2.id == "ann-r3" {
			t.Fatalf("resume with a wrong token: got %s, want a snapshot with a fresh id", f.raw)
		}
		ops, _ := bob.readOps(1)
		if ops[0].String() != fmt.Sprintf(`add /userList/- {"id":%q,"username":"ann"}`, ann2.id) {
			t.Fatalf("bob: %v", ops)
		}
	})

	t.Run("lastSeq in the future", func(t *testing.T) {
		const room = "/chat/v2_resume4"
		ann := s.joinV2(room, "ann-r4", "ann")
		ann.conn.CloseNow()
		ann.seq += 1_000_000
		ann2, f := s.resume(room, ann)
		if f.Event != "snapshot" || ann2.id != "ann-r4" {
			t.Fatalf("resume from the future: got %s, want a snapshot for ann-r4", f.raw)
		}
	})

	t.Run("no lastSeq", func(t *testing.T) {
		const room = "/chat/v2_resume5"
		ann := s.joinV2(room, "ann-r5", "ann")
		ann.conn.CloseNow()
		ann2, f := s.connectV2(room, "ann", nil, map[string]any{"id": ann.id, "username": "ann", "token": ann.token})
		if f.Event != "snapshot" || ann2.id != "ann-r5" {
			t.Fatalf("reload with the token: got %s, want a snapshot for ann-r5", f.raw)
		}
	})

	t.Run("another room", func(t *testing.T) {
		// Resume is per room: ann was never in room b.
		ann := s.joinV2("/chat/v2_resume6a", "ann-r6", "ann")
		ann.conn.CloseNow()
		ann2, f := s.resume("/chat/v2_resume6b", ann)
		if f.Event != "snapshot" || ann2.id != "ann-r6" {
			t.Fatalf("resume in another room: got %s, want a snapshot for ann-r6", f.raw)
		}
	})
}

func TestV2ResumeWindow(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-resume-window", "2", "-grace", "5s")
	const room = "/chat/v2_window"
	ann := s.joinV2(room, "ann", "ann")
	bob := s.joinV2(room, "bob", "bob")
	ann.readOps(1)

	// Two missed changes: the window still holds both.
	ann.conn.CloseNow()
	bob.say("one", "b1")
	bob.say("two", "b2")
	ann2, f := s.resume(room, ann)
	if f.Event != "resumed" {
		t.Fatalf("resume with 2 missed changes and a window of 2: got %s, want resumed", f.raw)
	}
	ann2.readOps(2)

	// Three: the first one is gone.
	ann2.conn.CloseNow()
	bob.say("three", "b3")
	bob.say("four", "b4")
	bob.say("five", "b5")
	ann3, f := s.resume(room, ann2)
	if f.Event != "snapshot" || ann3.id != "ann" {
		t.Fatalf("resume with 3 missed changes and a window of 2: got %s, want a snapshot for ann", f.raw)
	}
	if got := ann3.state().texts(); !reflect.DeepEqual(got, []string{"one", "two", "three", "four", "five"}) {
		t.Fatalf("snapshot messages = %q", got)
	}
	ann3.client.nothingFor(50 * time.Millisecond)
}

func TestV2ResumeAfterGrace(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-grace", "100ms")
	const room = "/chat/v2_grace"
	w := s.joinV2(room, "w", "w")
	ann := s.joinV2(room, "ann", "ann")
	w.readOps(1)
	ann.conn.CloseNow()
	ops, _ := w.readOps(1)
	if ops[0].String() != "remove /userList/1" {
		t.Fatalf("watcher: %v, want ann removed", ops)
	}
	ann2, f := s.resume(room, ann)
	if f.Event != "snapshot" || ann2.id != "ann" {
		t.Fatalf("resume after the grace period: got %s, want a snapshot for ann", f.raw)
	}
	ops, _ = w.readOps(1)
	if ops[0].String() != `add /userList/- {"id":"ann","username":"ann"}` {
		t.Fatalf("watcher: %v, want ann added", ops)
	}
	w.wantSynced(ann2)
}

// ---- merged patches ----

// TestV2MergeWindow: a v2 socket idle for longer than -merge-window gets a
// change at once; changes that follow within the window wait for its end
// and arrive merged into one patch.
func TestV2MergeWindow(t *testing.T) {
	t.Parallel()
	const window = 1500 * time.Millisecond
	s := startServer(t, "-merge-window", window.String(), "-rate", "0", "-rate-per-address", "0")
	const room = "/chat/v2_window"
	watcher := s.joinV2(room, "w", "watcher")
	ann, _ := s.join(room, "ann", "ann")
	watcher.readOps(1) // ann entered
	time.Sleep(window) // idle for a whole window

	ann.write("first")
	start := time.Now()
	ops, _ := watcher.readOps(1)
	if took := time.Since(start); took > window/2 {
		t.Fatalf("an idle socket got its change after %v, want it at once (window %v)", took, window)
	}
	ann.expectWritten()
	for i := range 5 {
		ann.write(fmt.Sprint("burst ", i))
		ann.expectWritten()
	}
	f := watcher.expectV2("patch")
	waited := time.Since(start)
	if got := len(f.ops(t)); got != 5 || waited < window*2/3 {
		t.Fatalf("after %v: a patch of %d operations (first: %v), want the 5 burst messages merged, no sooner than the window (%v)", waited, got, ops, window)
	}
}

// TestV2MergedPatches makes one v2 socket a slow reader: while it does not
// read, the socket's buffers fill, a write to it blocks and its send queue
// grows; the writer then merges the queued changes into one patch with the
// last one's seq.
func TestV2MergedPatches(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-history", "1", "-max-message", "200000", "-frame-limit", "262144",
		"-fsync", "off", "-rate", "0", "-rate-per-address", "0")
	const room = "/chat/v2_merged"
	slow := s.joinV2(room, "slow", "slow")
	bob := s.joinV2(room, "bob", "bob")
	slow.readOps(1)

	// bob writes big messages until frames wait in a send queue: bob reads
	// all of his, so they are the slow socket's. bob only looks for his
	// acks: decoding every big patch would make this slow.
	big := strings.Repeat("x", 150_000)
	var seqs []uint64
	for i := 0; ; i++ {
		if i == 400 {
			t.Fatal("no frames waited in the slow socket's queue after 400 big messages")
		}
		seqs = append(seqs, bob.sayBlind(fmt.Sprintf("%d %s", i, big), fmt.Sprint(i)))
		if waiting := metric(t, s, "statecast_send_queue_frames"); waiting >= 3 {
			break
		}
	}
	// Two more, certainly queued.
	seqs = append(seqs, bob.sayBlind("last but one", "x1"), bob.sayBlind("last", "x2"))

	// Now read: every message once, in order, some patches merged, each
	// with the seq of its last change.
	var adds []uint64
	for slow.seq < seqs[len(seqs)-1] {
		f := slow.expectV2("patch")
		var ops []struct {
			Op, Path string
			Value    struct{ Seq uint64 }
		}
		if err := json.Unmarshal(f.Ops, &ops); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, op := range ops {
			if op.Op == "add" && op.Path == "/messages/-" {
				adds = append(adds, op.Value.Seq)
				n++
			}
		}
		if n > 0 && adds[len(adds)-1] != f.seq() {
			t.Fatalf("a patch adding messages up to seq %d has seq %d", adds[len(adds)-1], f.seq())
		}
	}
	if !reflect.DeepEqual(adds, seqs) {
		t.Fatalf("messages added by patches: %v, want each of %v once", adds, seqs)
	}
	if slow.merged == 0 {
		t.Fatalf("none of %d patches merged several messages", slow.patches)
	}
	t.Logf("%d messages reached the slow reader in %d patches, %d merged", len(seqs), slow.patches-1, slow.merged)
	fresh := s.joinV2(room, "", "fresh")
	slow.wantSynced(fresh)
}

// sayBlind writes text with clientID and returns the seq of its ack,
// skipping every other frame undecoded: the socket's mirror is lost.
func (c *v2Client) sayBlind(text, clientID string) uint64 {
	c.t.Helper()
	c.writeID(text, clientID)
	c.doc = nil
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.conn.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("%s: waiting for the ack of %q: %v", c.name, clientID, err)
		}
		if !bytes.HasPrefix(b, []byte(`{"event":"ack"`)) {
			continue
		}
		var f v2Frame
		if err := json.Unmarshal(b, &f); err != nil || f.ClientID != clientID || f.Seq == nil {
			c.t.Fatalf("%s: got %s, want the ack of %q", c.name, b, clientID)
		}
		return f.seq()
	}
}

// metric reads one unlabelled value from the server's /metrics.
func metric(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// v1View returns doc (a v2 message, a list of them, or a whole v2 state)
// with each message reduced to the fields v1's messagesList carries. It
// fails the test if a v2 message lacks its id or time.
func v1View(t *testing.T, doc []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("v1View: %v in %s", err, doc)
	}
	slim := func(m any) {
		o, ok := m.(map[string]any)
		if !ok {
			return
		}
		if _, ok := o["id"].(string); !ok {
			t.Fatalf("v2 message without an id: %s", doc)
		}
		if _, ok := o["at"].(string); !ok {
			t.Fatalf("v2 message without a time: %s", doc)
		}
		delete(o, "id")
		delete(o, "at")
		delete(o, "clientId")
	}
	switch x := v.(type) {
	case []any:
		for _, m := range x {
			slim(m)
		}
	case map[string]any:
		if list, ok := x["messages"].([]any); ok {
			for _, m := range list {
				slim(m)
			}
		} else {
			slim(x)
		}
	}
	out, _ := json.Marshal(v)
	return out
}
