//go:build unix

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
)

// crashWorld is what every client saw and sent, across all iterations.
type crashWorld struct {
	mu   sync.Mutex
	seen map[uint64]seenMessage // by seq
	sent map[string]sentMessage // by text; texts are unique
	errs []string
}

type seenMessage struct {
	room, by, how string
	iter          int
	msg           actions.Message
}

type sentMessage struct{ room, user, clientID string }

// observe records a messagesList a client received: every message in it
// is visible, so it must be durable, and a seq always means one message.
func (w *crashWorld) observe(c *crashClient, list []actions.Message, iter int, how string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, m := range list {
		if i > 0 && m.Seq <= list[i-1].Seq {
			w.errs = append(w.errs, fmt.Sprintf("%s: a %s list goes from seq %d to %d", c.name, how, list[i-1].Seq, m.Seq))
		}
		if s, ok := w.seen[m.Seq]; ok {
			if s.room != c.room || !sameMessage(s.msg, m) {
				w.errs = append(w.errs, fmt.Sprintf("seq %d: %s saw %+v in room %s (iteration %d), %s saw %+v in room %s (iteration %d)",
					m.Seq, s.by, s.msg, s.room, s.iter, c.name, m, c.room, iter))
			}
			continue
		}
		w.seen[m.Seq] = seenMessage{room: c.room, by: c.name, how: how, iter: iter, msg: m}
	}
}

func (w *crashWorld) failIfErrors(t *testing.T, srv *child) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		t.Fatalf("%s\nserver log:\n%s", strings.Join(w.errs, "\n"), srv.logs.String())
	}
}

// crashClient is one socket's user; it lives across the restarts.
type crashClient struct {
	name, user, room string
	rng              *rand.Rand // used by one goroutine at a time

	mu      sync.Mutex
	next    int
	pending map[string]pendingMessage // by text: sent, not seen yet
}

type pendingMessage struct {
	clientID string
	token    bool // holds one of this run's in-flight tokens
	resent   bool // was re-sent after a restart
}

// maxInFlight bounds a client's messages sent and not yet seen.
const maxInFlight = 4

// messagesPerRun bounds how many new messages a client writes per run:
// more than it can write before the kill, so that the kill is mid-stream.
const messagesPerRun = 2000

// connect dials the client's room, identifies, and returns the socket and
// the messagesList of `connected`.
func (c *crashClient) connect(addr string) (*websocket.Conn, []actions.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/chat/"+c.room, nil)
	if err != nil {
		return nil, nil, err
	}
	conn.SetReadLimit(16 << 20)
	hello, _ := json.Marshal(map[string]any{"event": "connecting", "id": c.user, "username": c.name})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		return conn, nil, err
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return conn, nil, err
		}
		var e crashEvent
		if err := json.Unmarshal(data, &e); err != nil {
			return conn, nil, fmt.Errorf("frame %q: %v", data, err)
		}
		switch e.Event {
		case "connected":
			return conn, e.MessagesList, nil
		case "error":
			return conn, nil, fmt.Errorf("error event: %s", data)
		}
	}
}

type crashEvent struct {
	Event        string            `json:"event"`
	MessagesList []actions.Message `json:"messagesList"`
}

// run re-sends the client's unseen messages, then writes new ones while
// reading every frame, until the socket ends.
func (c *crashClient) run(ctx context.Context, conn *websocket.Conn, w *crashWorld, iter int) {
	defer conn.CloseNow()
	wctx, stopWriting := context.WithCancel(ctx)
	tokens := make(chan struct{}, maxInFlight)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.write(wctx, conn, w, tokens)
	}()
	defer func() {
		stopWriting()
		<-writerDone
	}()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var e crashEvent
		if err := json.Unmarshal(data, &e); err != nil {
			w.mu.Lock()
			w.errs = append(w.errs, fmt.Sprintf("%s: a frame that is not JSON: %q", c.name, data))
			w.mu.Unlock()
			return
		}
		switch e.Event {
		case "messageWritten":
			w.observe(c, e.MessagesList, iter, "messageWritten")
			c.seen(e.MessagesList, tokens)
		case "error":
			w.mu.Lock()
			w.errs = append(w.errs, fmt.Sprintf("%s: error event %s", c.name, data))
			w.mu.Unlock()
		}
	}
}

// write sends the re-sends, then up to messagesPerRun new messages, at
// most maxInFlight of them unseen at a time. Three in four carry a clientId.
func (c *crashClient) write(ctx context.Context, conn *websocket.Conn, w *crashWorld, tokens chan struct{}) {
	send := func(text, clientID string) error {
		f := map[string]any{"event": "writeMessage", "message": text}
		if clientID != "" {
			f["clientId"] = clientID
		}
		b, _ := json.Marshal(f)
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	for text, clientID := range c.resends() {
		if send(text, clientID) != nil {
			return
		}
	}
	for range messagesPerRun {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		n := c.next
		c.next++
		text := fmt.Sprintf("%s says %d", c.name, n)
		clientID := ""
		if n%4 != 3 {
			clientID = fmt.Sprintf("%s-%d", c.name, n)
		}
		c.pending[text] = pendingMessage{clientID: clientID, token: true}
		pause := time.Duration(c.rng.Intn(1000)) * time.Microsecond
		c.mu.Unlock()
		w.mu.Lock()
		w.sent[text] = sentMessage{room: c.room, user: c.user, clientID: clientID}
		w.mu.Unlock()
		if send(text, clientID) != nil {
			return
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return
		}
	}
}

// resends returns the pending messages with a clientId, which a client
// re-sends after reconnecting, and releases their tokens of an earlier run.
func (c *crashClient) resends() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for text, p := range c.pending {
		p.token = false
		if p.clientID != "" {
			p.resent = true
			out[text] = p.clientID
		}
		c.pending[text] = p
	}
	return out
}

// seen settles the client's own messages in list and frees their tokens.
func (c *crashClient) seen(list []actions.Message, tokens chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range list {
		p, ok := c.pending[m.Message]
		if !ok || m.UserID != c.user {
			continue
		}
		delete(c.pending, m.Message)
		if p.token {
			select {
			case <-tokens:
			default:
			}
		}
	}
}
