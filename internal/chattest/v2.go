package chattest

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// mirror is a v2 client's copy of its room: the state of its last snapshot
// with every patch since applied.
type mirror struct {
	doc []byte // JSON; nil before a snapshot, or once lost (SayBlind)
	// snapSeq and snapDoc are the last snapshot received.
	snapSeq uint64
	snapDoc []byte
	// patches counts the patch frames applied, merged the ones that added
	// more than one message.
	patches, merged int
}

// Op is one RFC 6902 operation of a patch.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func (o Op) String() string {
	if o.Value == nil {
		return o.Op + " " + o.Path
	}
	v, _ := json.Marshal(o.Value)
	return o.Op + " " + o.Path + " " + string(v)
}

// Ops decodes a patch's operations, failing the test if they are not a
// list of operations.
func (e Event) Ops(t testing.TB) []Op {
	t.Helper()
	var ops []Op
	if err := json.Unmarshal(e.JSON("ops"), &ops); err != nil {
		t.Fatalf("patch ops: %v: %v", err, e)
	}
	return ops
}

// JoinV2 dials path offering statecast.v2, connects as username (with id
// unless empty) and fails the test unless the reply is a snapshot for that
// id. The client's Name is username.
func (s *Server) JoinV2(t testing.TB, path, id, username string) *Client {
	t.Helper()
	fields := map[string]any{"username": username}
	if id != "" {
		fields["id"] = id
	}
	c, e := s.ConnectV2(t, path, username, nil, fields)
	if e.Name() != "snapshot" {
		t.Fatalf("%s: got %v, want a snapshot", username, e)
	}
	if id != "" && c.ID != id {
		t.Fatalf("%s: snapshot id = %q, want %q", username, c.ID, id)
	}
	return c
}

// ConnectV2 dials path offering statecast.v2, sends connecting with fields
// and returns the client named name with its first reply, which must be a
// snapshot (now the mirror) or a resumed. A client from which the new one
// resumes passes its id, token, seq and mirror on.
func (s *Server) ConnectV2(t testing.TB, path, name string, from *Client, fields map[string]any) (*Client, Event) {
	t.Helper()
	c := s.Dial(t, path, V2())
	c.Name = name
	if from != nil {
		c.ID, c.Token, c.LastSeq, c.mirror.doc = from.ID, from.Token, from.LastSeq, from.mirror.doc
	}
	c.Send(Connecting(fields))
	e := c.Next()
	if n := e.Name(); n != "snapshot" && n != "resumed" {
		t.Fatalf("%s: reply to connecting = %v, want snapshot or resumed", name, e)
	}
	return c, e
}

// Resume reconnects c's user to path with its id, username (c.Name), token
// and LastSeq, and returns the new client, carrying c's mirror, and the
// reply.
func (s *Server) Resume(t testing.TB, path string, c *Client) (*Client, Event) {
	t.Helper()
	return s.ConnectV2(t, path, c.Name, c, map[string]any{
		"id": c.ID, "username": c.Name, "token": c.Token, "lastSeq": c.LastSeq,
	})
}

// handleV2 checks a v2 frame and updates the mirror: a snapshot replaces
// it, a patch is applied to it, a resumed must carry the LastSeq sent.
func (c *Client) handleV2(e Event) {
	c.t.Helper()
	switch e.Name() {
	case "snapshot":
		c.takeSnapshot(e)
	case "resumed":
		if !e.Has("seq") || e.Seq() != c.LastSeq {
			c.t.Fatalf("%sresumed = %v, want seq %d (the lastSeq sent)", c.prefix(), e, c.LastSeq)
		}
		if e.Str("id") != c.ID || e.Str("token") == "" {
			c.t.Fatalf("%sresumed = %v, want id %q and a token", c.prefix(), e, c.ID)
		}
		c.Token = e.Str("token")
	case "patch":
		c.apply(e)
	case "ack", "error":
	default:
		c.t.Fatalf("%sunexpected v2 event %v", c.prefix(), e)
	}
}

// takeSnapshot checks a snapshot's shape and makes its state the mirror.
func (c *Client) takeSnapshot(e Event) {
	c.t.Helper()
	if e.Seq() == 0 || e.Str("id") == "" || e.Str("token") == "" {
		c.t.Fatalf("%ssnapshot %v lacks a seq, id or token", c.prefix(), e)
	}
	st := e.Obj("state")
	if st == nil {
		c.t.Fatalf("%ssnapshot state is not an object: %v", c.prefix(), e)
	}
	if len(st) != 4 || st["isConnected"] != true || st["isEstablishingConnection"] != false {
		c.t.Fatalf("%ssnapshot state = %s, want exactly messages, userList, isConnected true, isEstablishingConnection false", c.prefix(), e.JSON("state"))
	}
	for _, k := range []string{"messages", "userList"} {
		list, ok := st[k].([]any)
		if !ok {
			c.t.Fatalf("%ssnapshot state.%s is not an array: %s", c.prefix(), k, e.JSON("state"))
		}
		for _, x := range list {
			if _, ok := x.(map[string]any); !ok {
				c.t.Fatalf("%ssnapshot state.%s is not an array of objects: %s", c.prefix(), k, e.JSON("state"))
			}
		}
	}
	c.ID, c.Token, c.LastSeq = e.Str("id"), e.Str("token"), e.Seq()
	c.mirror.doc = e.JSON("state")
	c.mirror.snapSeq, c.mirror.snapDoc = c.LastSeq, c.mirror.doc
}

// apply checks a patch (a growing seq, a non-empty list of operations,
// none replacing the whole state or touching the per-socket fields) and
// applies it to the mirror with json-patch.
func (c *Client) apply(e Event) {
	c.t.Helper()
	m := c.mirror
	if m.doc == nil {
		c.t.Fatalf("%spatch before any snapshot: %v", c.prefix(), e)
	}
	if !e.Has("seq") || e.Seq() <= c.LastSeq {
		c.t.Fatalf("%spatch %v does not follow seq %d", c.prefix(), e, c.LastSeq)
	}
	raw := e.JSON("ops")
	var ops []Op
	if err := json.Unmarshal(raw, &ops); err != nil || len(ops) == 0 {
		c.t.Fatalf("%spatch ops are not a non-empty array: %v", c.prefix(), e)
	}
	adds := 0
	for _, op := range ops {
		if !strings.HasPrefix(op.Path, "/messages/") && !strings.HasPrefix(op.Path, "/userList/") {
			c.t.Fatalf("%spatch touches %q: %v", c.prefix(), op.Path, e)
		}
		if op.Op == "add" && op.Path == "/messages/-" {
			adds++
		}
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		c.t.Fatalf("%spatch is not RFC 6902: %v: %v", c.prefix(), err, e)
	}
	doc, err := p.Apply(m.doc)
	if err != nil {
		c.t.Fatalf("%sapplying patch %s to %s: %v", c.prefix(), raw, m.doc, err)
	}
	m.doc, c.LastSeq = doc, e.Seq()
	m.patches++
	if adds > 1 {
		m.merged++
	}
}

// Mirror returns a v2 client's mirror of its room, as JSON.
func (c *Client) Mirror() []byte { return c.mirror.doc }

// Snapshot returns the seq and state of the last snapshot a v2 client
// received.
func (c *Client) Snapshot() (seq uint64, state []byte) { return c.mirror.snapSeq, c.mirror.snapDoc }

// Patches returns how many patch frames a v2 client applied, and how many
// of them added more than one message (changes merged into one patch).
func (c *Client) Patches() (n, merged int) { return c.mirror.patches, c.mirror.merged }

// ReadOps reads patches until they carried n operations in all (several
// changes may arrive merged into one patch) and returns them with the last
// patch's seq; a frame other than a patch, or more operations, fails the
// test.
func (c *Client) ReadOps(n int) (ops []Op, last uint64) {
	c.t.Helper()
	for len(ops) < n {
		e := c.Next()
		if e.Name() != "patch" {
			c.t.Fatalf("%sgot %v, want a patch (%d of %d operations so far: %v)", c.prefix(), e, len(ops), n, ops)
		}
		ops, last = append(ops, e.Ops(c.t)...), e.Seq()
	}
	if len(ops) != n {
		c.t.Fatalf("%sgot operations %v, want %d", c.prefix(), ops, n)
	}
	return ops, last
}

// CatchUp reads patches until the mirror is at seq or later.
func (c *Client) CatchUp(seq uint64) {
	c.t.Helper()
	for c.LastSeq < seq {
		if e := c.Next(); e.Name() != "patch" {
			c.t.Fatalf("%sgot %v while catching up to seq %d", c.prefix(), e, seq)
		}
	}
}

// WantSynced fails the test unless c's mirror, caught up to ref's last
// snapshot, equals it: ref must be a client that has just received its
// snapshot.
func (c *Client) WantSynced(ref *Client) {
	c.t.Helper()
	seq, doc := ref.Snapshot()
	c.CatchUp(seq)
	if c.LastSeq != seq {
		c.t.Fatalf("%smirror at seq %d, past the snapshot's %d", c.prefix(), c.LastSeq, seq)
	}
	if !JSONEqual(c.mirror.doc, doc) {
		c.t.Fatalf("%smirror at seq %d differs from a fresh snapshot:\nmirror:   %s\nsnapshot: %s", c.prefix(), c.LastSeq, c.mirror.doc, doc)
	}
}

// SayV2 writes text with clientID and reads until its ack, checking that
// the message reached the mirror first; it returns the message's seq.
func (c *Client) SayV2(text, clientID string) uint64 {
	c.t.Helper()
	c.SayID(text, clientID)
	for {
		e := c.Next()
		switch e.Name() {
		case "patch":
			continue
		case "ack":
			if e.Str("clientId") != clientID || !e.Has("seq") {
				c.t.Fatalf("%sack %v, want clientId %q", c.prefix(), e, clientID)
			}
			st := c.State()
			found := false
			for _, m := range st.Messages {
				found = found || m.Seq == e.Seq() && m.ClientID == clientID && m.Message == text && m.UserID == c.ID
			}
			if n := len(st.Messages); !found && (n == 0 || st.Messages[n-1].Seq < e.Seq()) {
				c.t.Fatalf("%sack %v arrived before the message's patch: mirror %s", c.prefix(), e, c.mirror.doc)
			}
			return e.Seq()
		default:
			c.t.Fatalf("%sgot %v while waiting for the ack of %q", c.prefix(), e, clientID)
		}
	}
}

// AwaitAck reads (and applies) frames until the ack of clientID and
// returns its seq; any frame but a patch or that ack fails the test.
func (c *Client) AwaitAck(clientID string) uint64 {
	c.t.Helper()
	for {
		e := c.Next()
		switch e.Name() {
		case "patch":
		case "ack":
			if e.Str("clientId") != clientID {
				c.t.Fatalf("%sgot %v, want the ack of %q", c.prefix(), e, clientID)
			}
			return e.Seq()
		default:
			c.t.Fatalf("%sgot %v while waiting for the ack of %q", c.prefix(), e, clientID)
		}
	}
}

// SayBlind writes text with clientID and returns the seq of its ack,
// skipping every other frame undecoded: the client's mirror is lost until
// its next snapshot.
func (c *Client) SayBlind(text, clientID string) uint64 {
	c.t.Helper()
	c.SayID(text, clientID)
	if c.mirror != nil {
		c.mirror.doc = nil
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		_, b, err := c.conn.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("%swaiting for the ack of %q: %v", c.prefix(), clientID, err)
		}
		if !bytes.HasPrefix(b, []byte(`{"event":"ack"`)) {
			continue
		}
		e, err := ParseEvent(b)
		if err != nil || e.Str("clientId") != clientID || !e.Has("seq") {
			c.t.Fatalf("%sgot %s, want the ack of %q", c.prefix(), b, clientID)
		}
		return e.Seq()
	}
}

// State is a v2 mirror, decoded.
type State struct {
	Messages []struct {
		ID, UserID, Username, Message, At, ClientID string
		Seq                                         uint64
	} `json:"messages"`
	UserList []struct{ ID, Username string } `json:"userList"`
}

// State decodes a v2 client's mirror.
func (c *Client) State() State {
	c.t.Helper()
	var st State
	if err := json.Unmarshal(c.mirror.doc, &st); err != nil {
		c.t.Fatalf("%smirror: %v", c.prefix(), err)
	}
	return st
}

// Texts returns the messages' texts, oldest first.
func (st State) Texts() []string {
	out := []string{}
	for _, m := range st.Messages {
		out = append(out, m.Message)
	}
	return out
}

// Users returns the user list as id=username entries.
func (st State) Users() []string {
	out := []string{}
	for _, u := range st.UserList {
		out = append(out, u.ID+"="+u.Username)
	}
	return out
}

// JSONEqual compares two JSON documents semantically.
func JSONEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
