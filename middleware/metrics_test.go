package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// series returns the value of each series of the named counter, or the
// sample count of each series of the named histogram, by the value of
// label.
func series(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != label {
					continue
				}
				if h := m.GetHistogram(); h != nil {
					values[l.GetValue()] = float64(h.GetSampleCount())
				} else {
					values[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return values
}

func TestMetricsCountsByTypeAndCode(t *testing.T) {
	t.Parallel()
	m := middleware.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	// The terminal rejects long messages and fails on "boom".
	d := m.Middleware()(func(_ context.Context, a *actions.Action) error {
		if w, ok := a.Payload.(actions.WriteMessage); ok {
			switch {
			case w.Message == "boom":
				return errors.New("disk on fire")
			case len(w.Message) > 5:
				return actions.Errorf(actions.CodeMessageTooLong, "too long")
			}
		}
		return nil
	})
	for _, tc := range []struct {
		typ, msg string
		n        int
	}{
		{actions.TypeConnect, "", 2},
		{actions.TypeWriteMessage, "hi", 3},
		{actions.TypeWriteMessage, "far too long", 2},
		{actions.TypeWriteMessage, "boom", 1},
		{actions.TypeCloseSession, "", 1},
	} {
		for range tc.n {
			var payload any
			if tc.msg != "" {
				payload = actions.WriteMessage{Message: tc.msg}
			}
			d(context.Background(), &actions.Action{Type: tc.typ, Room: "r", Payload: payload})
		}
	}

	want := `
# HELP statecast_actions_total Actions applied to the state, by type.
# TYPE statecast_actions_total counter
statecast_actions_total{type="message/write"} 3
statecast_actions_total{type="session/close"} 1
statecast_actions_total{type="session/connect"} 2
# HELP statecast_actions_rejected_total Actions refused by the middleware chain or the store, by error code.
# TYPE statecast_actions_rejected_total counter
statecast_actions_rejected_total{code="internal"} 1
statecast_actions_rejected_total{code="message_too_long"} 2
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "statecast_actions_total", "statecast_actions_rejected_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m, "statecast_dispatch_duration_seconds"); n != 3 {
		t.Errorf("%d latency series, want 3 (one per type)", n)
	}
	// Applied and rejected dispatches alike are timed.
	got := series(t, reg, "statecast_dispatch_duration_seconds", "type")
	wantCounts := map[string]float64{actions.TypeConnect: 2, actions.TypeWriteMessage: 6, actions.TypeCloseSession: 1}
	if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Errorf("latency sample counts = %v, want %v", got, wantCounts)
	}
	if problems, err := testutil.CollectAndLint(m); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestMetricsOnRealStore(t *testing.T) {
	t.Parallel()
	s := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	t.Cleanup(func() { s.Close() })
	m := middleware.NewMetrics()
	s.Use(middleware.Recover(zerolog.Nop()), m.Middleware(), middleware.Validate(middleware.Limits{Message: 4}))
	ctx := context.Background()
	s.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession, Room: "r", Session: "s"})
	s.Dispatch(ctx, &actions.Action{Type: actions.TypeConnect, Room: "r", Session: "s", User: "u", Payload: actions.Connect{Username: "ann"}})
	s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s", User: "u", Payload: actions.WriteMessage{Message: "ok"}})
	s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s", User: "u", Payload: actions.WriteMessage{Message: "too long"}})
	s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "bad room!", Session: "s", User: "u", Payload: actions.WriteMessage{Message: "x"}})
	want := `
# HELP statecast_actions_total Actions applied to the state, by type.
# TYPE statecast_actions_total counter
statecast_actions_total{type="message/write"} 1
statecast_actions_total{type="session/connect"} 1
statecast_actions_total{type="session/open"} 1
# HELP statecast_actions_rejected_total Actions refused by the middleware chain or the store, by error code.
# TYPE statecast_actions_rejected_total counter
statecast_actions_rejected_total{code="invalid_room"} 1
statecast_actions_rejected_total{code="message_too_long"} 1
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "statecast_actions_total", "statecast_actions_rejected_total"); err != nil {
		t.Error(err)
	}
	if got, want := s.Seq(), uint64(3); got != want {
		t.Errorf("store seq = %d, want %d", got, want)
	}
}

// TestMetricsConcurrentTypes: many goroutines bring new types at once; each
// type's series is created once and no count is lost (run with -race).
func TestMetricsConcurrentTypes(t *testing.T) {
	t.Parallel()
	m := middleware.NewMetrics()
	d := m.Middleware()(func(context.Context, *actions.Action) error { return nil })
	const goroutines, each, types = 8, 200, 5
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d(context.Background(), &actions.Action{Type: fmt.Sprintf("t%d", (g+i)%types)})
			}
		}()
	}
	wg.Wait()
	if n := testutil.CollectAndCount(m, "statecast_actions_total"); n != types {
		t.Fatalf("%d series, want %d", n, types)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	var total float64
	for _, v := range series(t, reg, "statecast_actions_total", "type") {
		total += v
	}
	if total != goroutines*each {
		t.Fatalf("counted %v actions, want %d", total, goroutines*each)
	}
}

// BenchmarkMetricsMiddleware is the middleware's own cost per action:
// around a terminal that does nothing, against the bare terminal.
//
//	go test -run - -bench MetricsMiddleware -benchmem ./middleware/
func BenchmarkMetricsMiddleware(b *testing.B) {
	terminal := func(context.Context, *actions.Action) error { return nil }
	a := &actions.Action{Type: actions.TypeWriteMessage, Room: "r"}
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			terminal(ctx, a)
		}
	})
	b.Run("metrics", func(b *testing.B) {
		d := middleware.NewMetrics().Middleware()(terminal)
		b.ReportAllocs()
		for b.Loop() {
			d(ctx, a)
		}
	})
	b.Run("metrics-parallel", func(b *testing.B) {
		d := middleware.NewMetrics().Middleware()(terminal)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			a := &actions.Action{Type: actions.TypeWriteMessage, Room: "r"}
			for pb.Next() {
				d(ctx, a)
			}
		})
	})
}

// BenchmarkDispatchMetrics is BenchmarkDispatch's writeMessage through a
// chain with and without Metrics, in one run, so that the difference is
// the middleware's cost in place.
//
//	go test -run - -bench DispatchMetrics -benchmem ./middleware/
func BenchmarkDispatchMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			s := store.New(chat.State{}, chat.NewReducer(chat.Options{History: 1000}))
			defer s.Close()
			p := middleware.NewPresence(s, 0, zerolog.Nop())
			defer p.Close()
			chain := []store.Middleware{middleware.Recover(zerolog.Nop()), middleware.Stamp(nil)}
			if on {
				chain = append(chain, middleware.NewMetrics().Middleware())
			}
			s.Use(append(chain, middleware.Validate(middleware.Limits{}), p.Middleware())...)
			s.Subscribe(func(c store.Change[chat.State]) { chat.Diff(c.Prev, c.Next, c.Action) })
			ctx := context.Background()
			s.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession, Room: "r", Session: "s"})
			s.Dispatch(ctx, &actions.Action{Type: actions.TypeConnect, Room: "r", Session: "s", User: "u", Payload: actions.Connect{Username: "ann"}})
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s", User: "u",
					Payload: actions.WriteMessage{Message: "hello, world"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
