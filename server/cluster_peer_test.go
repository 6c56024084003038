package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
)

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
	c       *chattest.Client
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

// node is a server a peer can dial: a chattest.Server or a child.
type node interface {
	URL(path string) string
}

// joinPeer connects a v1 client to node as user id (also its name) and
// returns it with its `connected`. history is the room's Config.History.
func joinPeer(t *testing.T, node node, id string, history int) (*peer, peerFrame) {
	t.Helper()
	c, _, err := chattest.DialURL(t, node.URL("/chat"))
	if err != nil {
		t.Fatalf("%s: dial: %v", id, err)
	}
	p := &peer{t: t, id: id, c: c, history: history, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() {
		p.c.CloseNow()
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
		typ, b, err := p.c.Conn().Read(context.Background())
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
	if err := p.c.Conn().Write(ctx, websocket.MessageText, b); err != nil {
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
