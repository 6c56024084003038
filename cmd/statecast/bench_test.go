package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
)

// startBenchServer starts statecast for a load test: no fsync (the tests
// measure nothing) and, where the server has them, no rate limits.
func startBenchServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	all := append([]string{"-fsync", "off"}, args...)
	if _, err := parseServe([]string{"-rate", "0", "-rate-per-address", "0"}, nil); err == nil {
		all = append(all, "-rate", "0", "-rate-per-address", "0")
	}
	return startServer(t, all...)
}

// benchJSON runs bench with -json and returns its report.
func benchJSON(t *testing.T, args ...string) benchReport {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-json", "-timeout", "20s", "-stall", "5s"}, args...)
	if err := bench(ctx, all, &out); err != nil {
		t.Fatalf("bench %s: %v", strings.Join(args, " "), err)
	}
	var r benchReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench -json printed %q: %v", out.String(), err)
	}
	return r
}

// checkRun fails unless the run delivered every message exactly once, in
// order, with plausible latencies.
func checkRun(t *testing.T, run *runReport, clients, messages int) {
	t.Helper()
	if run.TimedOut || run.Stalled {
		t.Errorf("run %q did not finish: %+v", run.Name, run)
	}
	want := int64(clients * messages)
	if run.Expected != want || run.Deliveries != want || run.Lost != 0 {
		t.Errorf("run %q: %d/%d deliveries, %d lost; want %d", run.Name, run.Deliveries, run.Expected, run.Lost, want)
	}
	if run.Duplicates != 0 || run.Reordered != 0 || run.Rejected != 0 || run.SlowPathFrames != 0 || run.Foreign != 0 {
		t.Errorf("run %q: %d duplicates, %d reordered, %d rejected, %d slow-path frames, %d foreign; want none (errors %v)",
			run.Name, run.Duplicates, run.Reordered, run.Rejected, run.SlowPathFrames, run.Foreign, run.Errors)
	}
	l := run.Latency
	if l.N != int(want) || !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Max < 20000) {
		t.Errorf("run %q: implausible latencies %+v", run.Name, l)
	}
	if run.DeliveriesPerSec <= 0 || run.Seconds <= 0 {
		t.Errorf("run %q: %.0f deliveries/s over %.3f s", run.Name, run.DeliveriesPerSec, run.Seconds)
	}
}

func TestBenchFanout(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	// The server runs in this process: -pid exercises the /proc readings.
	r := benchJSON(t, "-url", s.url("/chat/fanout"), "-clients", "20", "-writers", "4", "-messages", "200",
		"-inflight", "4", "-pid", itoa(os.Getpid()))
	if len(r.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(r.Runs))
	}
	checkRun(t, r.Runs[0], 20, 200)
	if sv := r.Runs[0].Server; sv == nil || sv.Error != "" || sv.CPU <= 0 || sv.RSSAfterKB <= 0 || sv.CPUPerDeliveryUs <= 0 {
		t.Errorf("server report %+v", sv)
	}
	if r.Runs[0].Loadgen.Total <= 0 {
		t.Errorf("loadgen CPU %+v", r.Runs[0].Loadgen)
	}
}

func TestBenchFixedRate(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	start := time.Now()
	r := benchJSON(t, "-url", s.url("/chat/rate"), "-clients", "5", "-writers", "2", "-messages", "50", "-rate", "250", "-size", "200")
	checkRun(t, r.Runs[0], 5, 50)
	// 50 messages at 250/s take at least 0.2 s.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("50 messages at 250/s took only %v", d)
	}
}

func TestBenchHistory(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	r := benchJSON(t, "-mode", "history", "-history-fill", "300", "-url", s.url("/chat/history"),
		"-clients", "20", "-writers", "4", "-messages", "200")
	if r.Fill == nil || r.Fill.Delivered != 300 || r.Fill.PerSecond <= 0 {
		t.Fatalf("fill report %+v", r.Fill)
	}
	checkRun(t, r.Runs[0], 20, 200)
}

func TestBenchSlowReader(t *testing.T) {
	t.Parallel()
	// A short send queue, and history that makes every frame large, so that
	// the slow reader's socket buffers fill and its queue overflows.
	s := startBenchServer(t, "-send-queue", "40")
	r := benchJSON(t, "-slow", "1", "-history-fill", "300", "-size", "200", "-url", s.url("/chat/slow"),
		"-clients", "20", "-writers", "4", "-messages", "200")
	if len(r.Runs) != 2 {
		t.Fatalf("%d runs, want 2 (without and with the slow reader)", len(r.Runs))
	}
	checkRun(t, r.Runs[0], 20, 200)
	checkRun(t, r.Runs[1], 20, 200)
	if len(r.Runs[0].SlowReaders) != 0 || len(r.Runs[1].SlowReaders) != 1 {
		t.Fatalf("slow reader reports %v, %v", r.Runs[0].SlowReaders, r.Runs[1].SlowReaders)
	}
	if sr := r.Runs[1].SlowReaders[0]; sr.CloseCode != int(websocket.StatusTryAgainLater) {
		t.Errorf("slow reader: %+v, want closed with 1013", sr)
	}
}

func TestBenchStorm(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	r := benchJSON(t, "-mode", "storm", "-url", s.url("/chat/storm"), "-clients", "100", "-concurrency", "50",
		"-hold", "100ms", "-pid", itoa(os.Getpid()))
	st := r.Storm
	if st == nil || st.Connected != 100 || st.Failed != 0 || st.HandshakesPerSec <= 0 || st.Latency.N != 100 {
		t.Fatalf("storm report %+v", st)
	}
	// Each of 100 users' joined reaches the sockets connected before it.
	if st.Frames < 100*99/2 {
		t.Errorf("%d frames after connecting, want at least %d joined events", st.Frames, 100*99/2)
	}
	if st.Server == nil || st.Server.Error != "" || st.Server.RSSAfterKB <= 0 {
		t.Errorf("server report %+v", st.Server)
	}
}

func TestBenchStormRooms(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	r := benchJSON(t, "-mode", "storm", "-url", s.url("/chat"), "-clients", "40", "-rooms", "4", "-hold", "0s")
	if st := r.Storm; st.Connected != 40 || st.Frames != 4*10*9/2 {
		t.Fatalf("storm over 4 rooms: %+v, want 40 connected and %d joined events", st, 4*10*9/2)
	}
}

func TestBenchV2(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.url("/chat"), &websocket.DialOptions{Subprotocols: []string{v2Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	speaksV2 := ws.Subprotocol() == v2Subprotocol
	ws.CloseNow()
	if !speaksV2 {
		t.Skip("the server does not select statecast.v2 yet")
	}
	r := benchJSON(t, "-dialect", "v2", "-url", s.url("/chat/v2"), "-clients", "20", "-writers", "4", "-messages", "200", "-inflight", "8")
	checkRun(t, r.Runs[0], 20, 200)
	if r.Runs[0].SeqRegressions != 0 || r.Runs[0].Resyncs != 0 {
		t.Errorf("v2: %d seq regressions, %d resyncs", r.Runs[0].SeqRegressions, r.Runs[0].Resyncs)
	}
	st := benchJSON(t, "-dialect", "v2", "-mode", "storm", "-url", s.url("/chat/v2storm"), "-clients", "50", "-hold", "0s").Storm
	if st.Connected != 50 {
		t.Errorf("v2 storm: %+v", st)
	}
}

// startFakeV2 serves a minimal v2 room: a snapshot for each connecting,
// and every 2 ms one patch that merges all the messages written since the
// last one, as PROTOCOL.md allows. It exercises the bench's v2 reading
// (several adds per patch) whatever statecast's own v2 state.
func startFakeV2(t *testing.T) string {
	var mu sync.Mutex
	conns := map[*websocket.Conn]bool{}
	var pending [][]byte
	var seq uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{v2Subprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		defer func() { mu.Lock(); delete(conns, ws); mu.Unlock() }()
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var f struct{ Event, ID, Message string }
			json.Unmarshal(b, &f)
			mu.Lock()
			seq++
			switch f.Event {
			case "connecting":
				snap := actions.EncodeSnapshot(seq, f.ID, "token", nil, nil)
				conns[ws] = true
				mu.Unlock()
				ws.Write(context.Background(), websocket.MessageText, snap)
				continue
			case "writeMessage":
				m := actions.EncodeMessage(actions.Message{ID: strconv.FormatUint(seq, 10), Message: f.Message, Seq: seq})
				pending = append(pending, actions.AppendAddOp(nil, "/messages/-", m))
			}
			mu.Unlock()
		}
	}))
	stop := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			var frame []byte
			if len(pending) > 0 {
				frame, pending = actions.EncodePatch(seq, pending), nil
			}
			to := make([]*websocket.Conn, 0, len(conns))
			for c := range conns {
				to = append(to, c)
			}
			mu.Unlock()
			for _, c := range to {
				if frame != nil {
					c.Write(context.Background(), websocket.MessageText, frame)
				}
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		flusher.Wait()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat"
}

func TestBenchV2Merged(t *testing.T) {
	t.Parallel()
	url := startFakeV2(t)
	r := benchJSON(t, "-dialect", "v2", "-url", url, "-clients", "20", "-writers", "4", "-messages", "200", "-inflight", "8")
	checkRun(t, r.Runs[0], 20, 200)
	if run := r.Runs[0]; run.Frames >= run.Deliveries || run.SeqRegressions != 0 {
		t.Errorf("%d frames for %d deliveries (want merged patches), %d seq regressions", run.Frames, run.Deliveries, run.SeqRegressions)
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ws://127.0.0.1:3005/chat", "ws://127.3.2.1/chat", "ws://localhost:1/chat", "ws://LOCALHOST/chat",
		"ws://[::1]:3005/chat", "wss://127.0.0.1/chat", "ws://[::ffff:127.0.0.1]/chat"} {
		if _, err := parseBench([]string{"-url", ok}); err != nil {
			t.Errorf("-url %s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.0.0.1:3005/chat", "ws://192.168.1.2/chat", "ws://example.com/chat",
		"ws://localhost.evil.example/chat", "ws://[::2]/chat", "ws://0.0.0.0/chat", "http://127.0.0.1/chat", "127.0.0.1:3005"} {
		if _, err := parseBench([]string{"-url", bad}); err == nil {
			t.Errorf("-url %s was accepted", bad)
		}
	}
	for _, args := range [][]string{
		{"-mode", "soak"}, {"-dialect", "v3"}, {"-writers", "0"}, {"-writers", "200"}, {"-messages", "5"},
		{"-rooms", "2"}, {"-clients", "0"}, {"-concurrency", "0"}, {"-timeout", "0s"}, {"extra"},
	} {
		if _, err := parseBench(args); err == nil {
			t.Errorf("bench %v was accepted", args)
		}
	}
	c, err := parseBench([]string{"-mode", "history"})
	if err != nil || c.historyFill != 1000 || c.inflight != 1 {
		t.Errorf("history defaults: %+v, %v", c, err)
	}
	if c, _ := parseBench([]string{"-rate", "100"}); c.inflight != 0 {
		t.Errorf("-rate without -inflight: window %d, want unlimited", c.inflight)
	}
}

func TestRoomURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base string
		k, n int
		want string
	}{
		{"ws://127.0.0.1:3005/chat", 3, 1, "ws://127.0.0.1:3005/chat"},
		{"ws://127.0.0.1:3005/chat", 3, 10, "ws://127.0.0.1:3005/chat/bench-3"},
		{"ws://127.0.0.1:3005/chat/", 0, 2, "ws://127.0.0.1:3005/chat/bench-0"},
		{"ws://127.0.0.1:3005/chat/lobby", 1, 2, "ws://127.0.0.1:3005/chat/lobby-1"},
	} {
		if got := roomURL(tc.base, tc.k, tc.n); got != tc.want {
			t.Errorf("roomURL(%s, %d, %d) = %s, want %s", tc.base, tc.k, tc.n, got, tc.want)
		}
	}
}

func TestReadProc(t *testing.T) {
	t.Parallel()
	busy := time.Now()
	for time.Since(busy) < 30*time.Millisecond {
	}
	s, err := readProc(os.Getpid())
	if err != nil || s.cpu <= 0 || s.rssKB <= 0 {
		t.Fatalf("readProc(self) = %+v, %v", s, err)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Error("readProc of no process succeeded")
	}
	if got := clockTicks(); got <= 0 {
		t.Errorf("clockTicks() = %d", got)
	}
}

func TestBenchText(t *testing.T) {
	t.Parallel()
	s := startBenchServer(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bench(ctx, []string{"-url", s.url("/chat/text"), "-clients", "3", "-writers", "1", "-messages", "10"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"30/30 deliveries", "lost 0, duplicates 0", "latency: p50", "loadgen CPU"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
