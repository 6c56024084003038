package inspect_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/inspect"
	"github.com/statecast/statecast/store/file"
)

// benchActions is the size of the benchmark's log.
const benchActions = 1_000_000

// buildLog writes a log of n actions to dir: 100 rooms of 10 users each
// connect, then write messages round the rooms, with a socket closing and
// another opening every 1,000 actions.
func buildLog(tb testing.TB, dir string, n int) {
	tb.Helper()
	l, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	batch := make([]*actions.Action, 0, 1024)
	flush := func() {
		if err := l.Append(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	add := func(a *actions.Action) {
		at = at.Add(10 * time.Millisecond)
		a.At, a.ID = at, fmt.Sprintf("a%d", len(batch)+int(l.LastSeq()))
		batch = append(batch, a)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	session := func(room, user int) string { return fmt.Sprintf("s-%d-%d", room, user) }
	count := 0
	for r := 0; r < 100; r++ {
		for u := 0; u < 10; u++ {
			room, user := fmt.Sprintf("room%d", r), fmt.Sprintf("u%d", r*10+u)
			add(&actions.Action{Type: actions.TypeOpenSession, Room: room, Session: session(r, u), Payload: actions.Open{}})
			add(&actions.Action{Type: actions.TypeConnect, Room: room, Session: session(r, u), User: user, Payload: actions.Connect{Username: user}})
			count += 2
		}
	}
	for i := 0; count < n; i++ {
		r, u := i%100, (i/100)%10
		room := fmt.Sprintf("room%d", r)
		if i%1000 == 999 {
			add(&actions.Action{Type: actions.TypeCloseSession, Room: room, Session: session(r, u)})
			add(&actions.Action{Type: actions.TypeOpenSession, Room: room, Session: session(r, u) + "x", Payload: actions.Open{}})
			count += 2
			continue
		}
		add(&actions.Action{Type: actions.TypeWriteMessage, Room: room, Session: session(r, u),
			Payload: actions.WriteMessage{Message: fmt.Sprintf("message %d in %s, a line of ordinary length", i, room)}})
		count++
	}
	flush()
}

// BenchmarkStateAtSeq measures how long the state of one room at a random
// seq of a 1,000,000-action log takes to come out of the API, once the
// inspector indexed the log, and reports the 95th percentile.
//
//	go test -run '^$' -bench StateAtSeq -benchtime 200x ./inspect/
func BenchmarkStateAtSeq(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	buildLog(b, dir, benchActions)
	b.Logf("wrote %d actions in %v", benchActions, time.Since(start))
	start = time.Now()
	h, err := inspect.New(context.Background(), inspect.Config{Source: inspect.Dir(dir)})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for {
		var info struct{ Last, Indexed uint64 }
		if get(b, h, "/inspect/api/info", &info); info.Last > 0 && info.Indexed == info.Last {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	index := time.Since(start)
	rng := rand.New(rand.NewPCG(1, 2))
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		seq := 1 + rng.Uint64N(benchActions)
		t0 := time.Now()
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/inspect/api/state?seq=%d&room=room%d", seq, seq%100), nil)
		r.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("seq %d: %d %s", seq, w.Code, w.Body.String())
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(took)
	p := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	b.ReportMetric(index.Seconds(), "index-s")
}
