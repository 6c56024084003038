//go:build unix

package server_test

import (
	"context"
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

// crashHistory is the History of the crash test's server: small, so that
// messagesList stays short; the full history comes from the log (see
// logHistory).
const crashHistory = 25

// crashConfigs are the server configurations the kill/restart loop cycles
// through.
var crashConfigs = []struct {
	name          string
	fsync         string
	snapshotEvery uint64
}{
	{"fsync=always", "always", 0},
	{"fsync=always snapshot-every=50", "always", 50},
	{"fsync=interval", "interval", 0},
	{"fsync=off snapshot-every=50", "off", 50},
}

// TestCrashKeepsAcknowledgedMessages runs a server process, has WebSocket
// clients write concurrently, kills the server with SIGKILL at a random
// moment, restarts it on the same data directory, and checks after every
// restart that each message any client saw in a messageWritten (or in
// connected) is still there: in the full history folded from the log, with
// the same seq, text and ids, in the same order, once; and in
// the window the restarted server greets the clients with. Messages sent
// but never seen are re-sent with their clientIds after the restart and
// must not appear twice.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	t.Parallel()
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
	base := childConfig{Data: dir, Grace: 200 * time.Millisecond, History: crashHistory}
	var hist []replayedMessage
	start := time.Now()
	iter := 0
	for ; iter < maxIterations && (iter < len(crashConfigs) || time.Since(start) < budget); iter++ {
		cfg := crashConfigs[iter%len(crashConfigs)]
		run := base
		run.Fsync, run.SnapshotEvery = cfg.fsync, cfg.snapshotEvery
		srv := startChild(t, run)
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
		hist = logHistory(t, dir, crashHistory)
		durable := checkHistory(t, w, clients, hist)
		t.Logf("iteration %d (%s): killed after %v; %d messages seen so far, %d in the log, %d durable though never seen (re-sent next)",
			iter, cfg.name, killAfter, len(w.seen), len(hist), durable)
	}

	// A last, clean run: greet everyone, shut down gracefully, and check
	// the log once more and every snapshot against it.
	srv := startChild(t, base)
	conns := connectAll(t, srv, clients, w, iter, hist)
	runClients(t, clients, conns, w, iter, func() error {
		time.Sleep(50 * time.Millisecond)
		if err := srv.stop(10 * time.Second); err != nil {
			return fmt.Errorf("graceful shutdown: %v\n%s", err, srv.logs.String())
		}
		return nil
	})
	w.failIfErrors(t, srv)
	hist = logHistory(t, dir, crashHistory)
	checkHistory(t, w, clients, hist)
	if n := verifySnapshots(t, dir, crashHistory); n == 0 {
		t.Fatal("no snapshot to verify after a graceful shutdown")
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
