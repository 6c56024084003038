//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
)

// crashHistory is the -history of the crash test's server: small, so that
// messagesList stays short; the full history comes from `statecast replay`.
const crashHistory = 25

// crashConfigs are the server flags the kill/restart loop cycles through.
var crashConfigs = []struct {
	name string
	args []string
}{
	{"fsync=always", nil},
	{"fsync=always snapshot-every=50", []string{"-snapshot-every", "50"}},
	{"fsync=interval", []string{"-fsync", "interval"}},
	{"fsync=off snapshot-every=50", []string{"-fsync", "off", "-snapshot-every", "50"}},
}

// TestCrashKeepsAcknowledgedMessages runs the real binary, has WebSocket
// clients write concurrently, kills the server with SIGKILL at a random
// moment, restarts it on the same data directory, and checks after every
// restart that each message any client saw in a messageWritten (or in
// connected) is still there: in `statecast replay`'s full history of the
// log, with the same seq, text and ids, in the same order, once; and in
// the window the restarted server greets the clients with. Messages sent
// but never seen are re-sent with their clientIds after the restart and
// must not appear twice.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	t.Parallel()
	bin := buildStatecast(t)
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	maxIterations, budget := 15, 18*time.Second
	if testing.Short() {
		maxIterations = len(crashConfigs)
	}
	w := &crashWorld{seen: map[uint64]seenMessage{}, sent: map[string]sentMessage{}}
	var clients []*crashClient
	for i, spec := range []struct{ name, user, room string }{
		{"ann", "u-ann", "crash-a"}, {"bob", "u-bob", "crash-a"}, {"ann-tab2", "u-ann", "crash-a"},
		{"cat", "u-cat", "crash-b"}, {"dan", "u-dan", "crash-b"}, {"eve", "u-eve", "crash-b"},
	} {
		clients = append(clients, &crashClient{name: spec.name, user: spec.user, room: spec.room,
			rng: rand.New(rand.NewSource(seed + int64(i) + 1)), pending: map[string]pendingMessage{}})
	}
	// The clients write as fast as the server answers: far above the rate
	// limits, which are not under test here.
	base := []string{"-data", dir, "-grace", "200ms", "-history", fmt.Sprint(crashHistory), "-rate", "0", "-rate-per-address", "0"}
	var hist []replayedMessage
	start := time.Now()
	iter := 0
	for ; iter < maxIterations && (iter < len(crashConfigs) || time.Since(start) < budget); iter++ {
		cfg := crashConfigs[iter%len(crashConfigs)]
		srv := startChild(t, bin, append(base, cfg.args...)...)
		conns := connectAll(t, srv, clients, w, iter, hist)
		killAfter := time.Duration(10+rng.Intn(290)) * time.Millisecond
		runClients(t, clients, conns, w, iter, func() error {
			time.Sleep(killAfter)
			if srv.exited() {
				return fmt.Errorf("iteration %d: the server exited by itself: %v\n%s", iter, srv.err, srv.logs.String())
			}
			srv.kill()
			return nil
		})
		w.failIfErrors(t, srv)
		hist = replayHistory(t, bin, dir, crashHistory)
		durable := checkHistory(t, w, clients, hist)
		t.Logf("iteration %d (%s): killed after %v; %d messages seen so far, %d in the log, %d durable though never seen (re-sent next)",
			iter, cfg.name, killAfter, len(w.seen), len(hist), durable)
	}

	// A last, clean run: greet everyone, shut down gracefully, and check
	// the log once more and every snapshot against it.
	srv := startChild(t, bin, base...)
	conns := connectAll(t, srv, clients, w, iter, hist)
	runClients(t, clients, conns, w, iter, func() error {
		time.Sleep(50 * time.Millisecond)
		if err := srv.stop(10 * time.Second); err != nil {
			return fmt.Errorf("graceful shutdown: %v\n%s", err, srv.logs.String())
		}
		return nil
	})
	w.failIfErrors(t, srv)
	hist = replayHistory(t, bin, dir, crashHistory)
	checkHistory(t, w, clients, hist)
	out := runTool(t, bin, "replay", "-data", dir, "-history", fmt.Sprint(crashHistory), "-verify", "-progress", "off")
	if !strings.Contains(string(out), "verified") {
		t.Fatalf("replay -verify:\n%s", out)
	}
	if len(w.seen) < 50 {
		t.Fatalf("only %d messages were ever acknowledged; the test exercises too little", len(w.seen))
	}
	t.Logf("%d kill/restart iterations in %v; %d messages acknowledged, %d in the log",
		iter, time.Since(start).Round(time.Millisecond), len(w.seen), len(hist))
}

// connectAll opens every client's socket and checks that each `connected`
// shows exactly the end of the history the log held before the restart.
func connectAll(t *testing.T, srv *child, clients []*crashClient, w *crashWorld, iter int, hist []replayedMessage) []*websocket.Conn {
	t.Helper()
	conns := make([]*websocket.Conn, len(clients))
	windows := make([][]actions.Message, len(clients))
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], windows[i], errs[i] = c.connect(srv.addr)
		}()
	}
	wg.Wait()
	for i, c := range clients {
		if conns[i] != nil {
			t.Cleanup(func() { conns[i].CloseNow() })
		}
		if errs[i] != nil {
			t.Fatalf("iteration %d: %s connecting: %v\n%s", iter, c.name, errs[i], srv.logs.String())
		}
		w.observe(c, windows[i], iter, "connected")
		want := roomTail(hist, c.room, crashHistory)
		if diff := compareWindows(windows[i], want); diff != "" {
			t.Fatalf("iteration %d: %s's connected.messagesList after the restart differs from the end of the log's history: %s", iter, c.name, diff)
		}
	}
	return conns
}

// runClients lets every client write and read until its socket ends, and
// calls end (which ends the server) meanwhile.
func runClients(t *testing.T, clients []*crashClient, conns []*websocket.Conn, w *crashWorld, iter int, end func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, conns[i], w, iter)
		}()
	}
	err := end()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
}

// checkHistory checks the replayed history against everything the clients
// saw and sent, forgets pending messages that turned out durable, and
// returns how many did.
func checkHistory(t *testing.T, w *crashWorld, clients []*crashClient, hist []replayedMessage) (durable int) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	bySeq := map[uint64]replayedMessage{}
	byText := map[string]uint64{}
	lastSeq := map[string]uint64{}
	for _, m := range hist {
		if m.Seq <= lastSeq[m.Room] {
			t.Fatalf("room %s: the history goes from seq %d to %d", m.Room, lastSeq[m.Room], m.Seq)
		}
		lastSeq[m.Room] = m.Seq
		if _, dup := bySeq[m.Seq]; dup {
			t.Fatalf("seq %d appended twice", m.Seq)
		}
		bySeq[m.Seq] = m
		if first, dup := byText[m.Message.Message]; dup {
			t.Fatalf("message %q appears twice in the log's history: seq %d and %d", m.Message.Message, first, m.Seq)
		}
		byText[m.Message.Message] = m.Seq
		sent, ok := w.sent[m.Message.Message]
		if !ok || sent.room != m.Room || sent.user != m.UserID || sent.clientID != m.ClientID {
			t.Fatalf("the log holds a message no client sent like that: %+v (sent: %+v, %v)", m, sent, ok)
		}
	}
	seqs := make([]uint64, 0, len(w.seen))
	for seq := range w.seen {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, seq := range seqs {
		s := w.seen[seq]
		got, ok := bySeq[seq]
		if !ok {
			t.Fatalf("acknowledged message lost: %s saw seq %d %q in room %s (%s, iteration %d); the log's history has no seq %d",
				s.by, seq, s.msg.Message, s.room, s.how, s.iter, seq)
		}
		if got.Room != s.room || !sameMessage(got.Message, s.msg) {
			t.Fatalf("seq %d: %s saw %+v in room %s (iteration %d); the log has %+v in room %s", seq, s.by, s.msg, s.room, s.iter, got.Message, got.Room)
		}
	}
	for _, c := range clients {
		c.mu.Lock()
		for text, p := range c.pending {
			_, inLog := byText[text]
			switch {
			case inLog && !p.resent && p.clientID != "":
				// Durable though never seen: the next run re-sends it,
				// and the log must still hold it once.
				durable++
			case inLog || p.clientID == "":
				// Settled: in the log once, or never to be re-sent.
				delete(c.pending, text)
			}
		}
		c.mu.Unlock()
	}
	return durable
}

// roomTail returns the newest n messages of room in hist.
func roomTail(hist []replayedMessage, room string, n int) []actions.Message {
	var msgs []actions.Message
	for _, m := range hist {
		if m.Room == room {
			msgs = append(msgs, m.Message)
		}
	}
	return msgs[max(0, len(msgs)-n):]
}

func compareWindows(got, want []actions.Message) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d messages, want %d (got %s, want %s)", len(got), len(want), seqList(got), seqList(want))
	}
	for i := range got {
		if !sameMessage(got[i], want[i]) {
			return fmt.Sprintf("message %d is %+v, want %+v", i, got[i], want[i])
		}
	}
	return ""
}

func seqList(msgs []actions.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprint(&b, m.Seq, " ")
	}
	return b.String()
}

// sameMessage compares what v1 message objects carry (the log holds more).
func sameMessage(a, b actions.Message) bool {
	return a.UserID == b.UserID && a.Username == b.Username && a.Message == b.Message && a.Seq == b.Seq
}

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
