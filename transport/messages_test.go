package transport_test

// writeMessage and messageWritten of docs/protocol.md's v1 dialect, end to
// end: refusals, fields, fan-out, order under concurrent writers.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

func TestWriteMessageRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		frame map[string]any
		code  string
	}{
		{"missing message", map[string]any{"event": "writeMessage"}, "missing_field"},
		{"missing message with username", map[string]any{"event": "writeMessage", "username": "ann"}, "missing_field"},
		{"null message", map[string]any{"event": "writeMessage", "message": nil}, "missing_field"},
		{"number message", map[string]any{"event": "writeMessage", "message": 5}, "wrong_type"},
		{"object message", map[string]any{"event": "writeMessage", "message": map[string]any{"text": "hi"}}, "wrong_type"},
		{"array message", map[string]any{"event": "writeMessage", "message": []any{"hi"}}, "wrong_type"},
		{"bool message", map[string]any{"event": "writeMessage", "message": true}, "wrong_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			obs, _ := s.Join(t, "/chat", "obs", "olga")
			c, _ := s.Join(t, "/chat", "ann-id", "ann")
			expectPresence(t, obs, "joined", "ann-id", "ann")
			c.Send(tc.frame)
			expectError(t, c, tc.code, "writeMessage")
			c.Say("valid")
			wantTexts(t, expectWritten(t, c), "valid")
			wantTexts(t, expectWritten(t, obs), "valid")
		})
	}
}

// The username of writeMessage is ignored, whatever its type: the message
// carries the session's own name (the seed let anyone post as anyone).
func TestWriteMessageIgnoresUsername(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		username any
	}{
		{"another user's name", "bob"},
		{"a stranger's name", "mallory"},
		{"empty", ""},
		{"number", 42},
		{"object", map[string]any{"username": "bob"}},
		{"array", []any{"bob"}},
		{"bool", true},
		{"null", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{})
			bob, _ := s.Join(t, "/chat", "bob-id", "bob")
			ann, _ := s.Join(t, "/chat", "ann-id", "ann")
			expectPresence(t, bob, "joined", "ann-id", "ann")
			ann.Send(map[string]any{"event": "writeMessage", "message": "hello", "username": tc.username})
			for _, c := range []*chattest.Client{ann, bob} {
				m := expectWritten(t, c)
				if len(m) != 1 || m[0].Username != "ann" || m[0].UserID != "ann-id" || m[0].Message != "hello" {
					t.Fatalf("messageWritten = %+v, want one message by ann (ann-id)", m)
				}
			}
		})
	}
}

// v1 message objects carry username and message, and the extras userId and
// seq; nothing else (every v1 message event repeats the whole window, so
// the message's own id and time stay in v2).
func TestMessageFields(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	ann.Say("one")
	ann.Say("two")
	expectWritten(t, ann)
	e := ann.Expect("messageWritten")
	msgs := messagesOf(t, e)
	wantTexts(t, msgs, "one", "two")
	for i, raw := range e["messagesList"].([]any) {
		var keys []string
		for k := range raw.(map[string]any) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, ","); got != "message,seq,userId,username" {
			t.Fatalf("message %d has the fields %s, want message,seq,userId,username", i, got)
		}
	}
	for i, m := range msgs {
		if m.Username != "ann" || m.UserID != "ann-id" {
			t.Fatalf("message %d = %+v, want by ann (ann-id)", i, m)
		}
		if m.Seq < 1 {
			t.Fatalf("message %d seq = %v, want positive", i, m.Seq)
		}
	}
	if msgs[1].Seq <= msgs[0].Seq {
		t.Fatalf("seqs do not grow: %+v", msgs)
	}
	// A newcomer gets the same objects.
	_, hello := s.Join(t, "/chat", "bob-id", "bob")
	got := messagesOf(t, hello)
	if len(got) != 2 || got[0] != msgs[0] || got[1] != msgs[1] {
		t.Fatalf("connected messagesList = %+v, want %+v", got, msgs)
	}
}

// messageWritten goes to every socket of the room, sender and the sender's
// other tabs included, once per message.
func TestMessageWrittenToEverySocket(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann1, _ := s.Join(t, "/chat", "ann-id", "ann")
	ann2, hello := s.Join(t, "/chat", "ann-id", "ann")
	wantUsers(t, hello, map[string]string{"ann-id": "ann"})
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann1, "joined", "bob-id", "bob")
	expectPresence(t, ann2, "joined", "bob-id", "bob")
	ann1.Say("from tab 1")
	for _, c := range []*chattest.Client{ann1, ann2, bob} {
		wantTexts(t, expectWritten(t, c), "from tab 1")
	}
	bob.Say("from bob")
	for _, c := range []*chattest.Client{ann1, ann2, bob} {
		m := expectWritten(t, c)
		wantTexts(t, m, "from tab 1", "from bob")
		if m[0].Username != "ann" || m[1].Username != "bob" {
			t.Fatalf("messages = %+v", m)
		}
	}
	for _, c := range []*chattest.Client{ann1, ann2, bob} {
		nothingFor(t, c, 100*time.Millisecond)
	}
}

// Rule 4: each added message has its own messageWritten, in order, and
// each list is the previous one plus the new message.
func TestEachMessageItsOwnEvent(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	bob, _ := s.Join(t, "/chat", "bob-id", "bob")
	expectPresence(t, ann, "joined", "bob-id", "bob")
	const n = 10
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("m%d", i))
	}
	// Write them back to back, without waiting for the echoes.
	frames := make([][]byte, n)
	for i := range frames {
		frames[i], _ = json.Marshal(map[string]any{"event": "writeMessage", "message": want[i]})
	}
	for _, f := range frames {
		ann.SendRaw(websocket.MessageText, f)
	}
	for _, c := range []*chattest.Client{ann, bob} {
		for i := 0; i < n; i++ {
			wantTexts(t, expectWritten(t, c), want[:i+1]...)
		}
		nothingFor(t, c, 100*time.Millisecond)
	}
}

// readWritten reads one frame without touching testing.T, for goroutines,
// and returns its messagesList; any frame but a messageWritten is an error.
func readWritten(conn *websocket.Conn, d time.Duration) ([]chatMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("binary frame")
	}
	var e struct {
		Event        *string   `json:"event"`
		MessagesList []chatMsg `json:"messagesList"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Event == nil {
		return nil, fmt.Errorf("frame is not a JSON object with an event: %q", b)
	}
	if *e.Event != "messageWritten" || e.MessagesList == nil {
		return nil, fmt.Errorf("unexpected frame %s", b)
	}
	return e.MessagesList, nil
}

// Several writers at once: every socket sees every message exactly once,
// one messageWritten each, and all sockets see the same order.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const clients, perClient = 5, 20
	const total = clients * perClient
	// Each client writes 20 messages back to back after its connecting, all
	// from one address: just above the default rate limits.
	s := chattest.Start(t, server.Config{RateLimit: noRateLimit})
	cs := make([]*chattest.Client, clients)
	for i := range cs {
		cs[i], _ = s.Join(t, "/chat", fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i))
		for j := 0; j < i; j++ {
			expectPresence(t, cs[j], "joined", fmt.Sprintf("u%d", i), fmt.Sprintf("user%d", i))
		}
	}

	type result struct {
		lists [][]chatMsg // each messageWritten's list
		err   error
	}
	results := make([]result, clients)
	writeErrs := make([]error, clients)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(2)
		go func() { // reader
			defer wg.Done()
			r := &results[i]
			for len(r.lists) < total {
				list, err := readWritten(c.Conn(), 10*time.Second)
				if err != nil {
					r.err = fmt.Errorf("after %d messageWritten: %w", len(r.lists), err)
					return
				}
				r.lists = append(r.lists, list)
			}
		}()
		go func() { // writer
			defer wg.Done()
			for k := 0; k < perClient; k++ {
				b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprintf("c%d-m%d", i, k),
					"username": "user0"})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.Conn().Write(ctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					writeErrs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range cs {
		if writeErrs[i] != nil {
			t.Fatalf("client %d write: %v", i, writeErrs[i])
		}
		if results[i].err != nil {
			t.Fatalf("client %d: %v", i, results[i].err)
		}
	}

	// Everyone's final list is the same: every message once, each writer's
	// messages in the order it sent them, by the writer's own name.
	final := results[0].lists[total-1]
	if len(final) != total {
		t.Fatalf("final list has %d messages, want %d", len(final), total)
	}
	seen := map[string]bool{}
	next := make([]int, clients)
	for _, m := range final {
		if seen[m.Message] {
			t.Fatalf("message %q twice in %v", m.Message, final)
		}
		seen[m.Message] = true
		var ci, k int
		if _, err := fmt.Sscanf(m.Message, "c%d-m%d", &ci, &k); err != nil || ci < 0 || ci >= clients {
			t.Fatalf("unexpected message %q", m.Message)
		}
		if k != next[ci] {
			t.Fatalf("client %d's messages out of order: got m%d, want m%d", ci, k, next[ci])
		}
		next[ci]++
		if m.Username != fmt.Sprintf("user%d", ci) || m.UserID != fmt.Sprintf("u%d", ci) {
			t.Fatalf("message %q carries %q (%q), want user%d (u%d)", m.Message, m.Username, m.UserID, ci, ci)
		}
	}
	for i, r := range results {
		// Event k holds exactly the first k+1 messages of the common order.
		for k, list := range r.lists {
			if len(list) != k+1 {
				t.Fatalf("client %d: messageWritten %d has %d messages, want %d", i, k, len(list), k+1)
			}
			for j, m := range list {
				if m != final[j] {
					t.Fatalf("client %d: messageWritten %d differs at %d: %+v, want %+v", i, k, j, m, final[j])
				}
			}
		}
	}
	for _, c := range cs {
		nothingFor(t, c, 50*time.Millisecond)
	}
}

// A socket that connects while messages flow misses none and sees none
// twice: its connected list and the messageWritten events after it form one
// unbroken sequence.
func TestJoinWhileMessagesFlow(t *testing.T) {
	t.Parallel()
	const total = 100
	s := chattest.Start(t, server.Config{RateLimit: noRateLimit}) // about 1000 messages per second
	w, hello := s.Join(t, "/chat", "w", "writer")
	done := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprintf("m%03d", i)})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := w.Conn().Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				done <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
		done <- nil
	}()
	clients := []*chattest.Client{w}
	starts := [][]chatMsg{messagesOf(t, hello)}
	for i := 0; i < 5; i++ {
		time.Sleep(15 * time.Millisecond)
		c, e := s.Join(t, "/chat", fmt.Sprintf("j%d", i), fmt.Sprintf("joiner%d", i))
		clients = append(clients, c)
		starts = append(starts, messagesOf(t, e))
	}
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	for i, c := range clients {
		prev := starts[i]
		for k, m := range prev {
			if m.Message != fmt.Sprintf("m%03d", k) {
				t.Fatalf("client %d: connected list %v is not the start of the flow", i, prev)
			}
		}
		for len(prev) < total {
			e := c.Next()
			switch e.Str("event") {
			case "joined":
				continue // a later joiner
			case "messageWritten":
			default:
				t.Fatalf("client %d: unexpected %v", i, e)
			}
			list := messagesOf(t, e)
			if len(list) != len(prev)+1 || list[len(prev)].Message != fmt.Sprintf("m%03d", len(prev)) {
				t.Fatalf("client %d: after %d messages got %v", i, len(prev), texts(list))
			}
			for k := range prev {
				if list[k] != prev[k] {
					t.Fatalf("client %d: message %d changed from %+v to %+v", i, k, prev[k], list[k])
				}
			}
			prev = list
		}
	}
}

// expectAny reads the next frame, whatever its event.
