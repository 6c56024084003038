package middleware_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// BenchmarkDispatch measures one writeMessage through the default chain,
// the reducer and a subscriber that diffs the change, with a room that
// already holds the given history. The cost must not grow with it.
//
//	go test -run - -bench Dispatch -benchmem ./middleware/
func BenchmarkDispatch(b *testing.B) {
	for _, history := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			s := store.New(chat.State{}, chat.NewReducer(chat.Options{History: history}))
			defer s.Close()
			p := middleware.NewPresence(s, 0, zerolog.Nop())
			defer p.Close()
			log := zerolog.Nop()
			s.Use(middleware.Recover(log), middleware.Stamp(nil), middleware.Logger(log, middleware.LoggerOptions{}), middleware.Validate(middleware.Limits{}), p.Middleware())
			var changed int
			s.Subscribe(func(c store.Change[chat.State]) {
				if d := chat.Diff(c.Prev, c.Next, c.Action); !d.Empty() {
					changed++
				}
			})
			ctx := context.Background()
			s.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession, Room: "r", Session: "s"})
			s.Dispatch(ctx, &actions.Action{Type: actions.TypeConnect, Room: "r", Session: "s", User: "u", Payload: actions.Connect{Username: "ann"}})
			write := func() {
				if err := s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s", User: "u",
					Payload: actions.WriteMessage{Message: "hello, world"}}); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < history; i++ {
				write()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				write()
			}
			b.StopTimer()
			if n := s.GetState().Room("r").MessageCount(); n != history {
				b.Fatalf("room holds %d messages, want %d", n, history)
			}
		})
	}
}

// BenchmarkDispatchParallel is BenchmarkDispatch with many sockets writing
// at once, as on a busy server: the store's apply loop then takes the
// waiting actions as batches. It reports the store's throughput.
//
//	go test -run - -bench DispatchParallel -benchmem ./middleware/
func BenchmarkDispatchParallel(b *testing.B) {
	const history = 100_000
	s := store.New(chat.State{}, chat.NewReducer(chat.Options{History: history}))
	defer s.Close()
	p := middleware.NewPresence(s, 0, zerolog.Nop())
	defer p.Close()
	log := zerolog.Nop()
	s.Use(middleware.Recover(log), middleware.Stamp(nil), middleware.Logger(log, middleware.LoggerOptions{}), middleware.Validate(middleware.Limits{}), p.Middleware())
	s.Subscribe(func(c store.Change[chat.State]) { chat.Diff(c.Prev, c.Next, c.Action) })
	ctx := context.Background()
	const sockets = 256
	for i := range sockets {
		sess := fmt.Sprint("s", i)
		s.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession, Room: "r", Session: sess})
		s.Dispatch(ctx, &actions.Action{Type: actions.TypeConnect, Room: "r", Session: sess, User: sess, Payload: actions.Connect{Username: sess}})
	}
	write := func(sess string) error {
		return s.Dispatch(ctx, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: sess, User: sess,
			Payload: actions.WriteMessage{Message: "hello, world"}})
	}
	for range history {
		write("s0")
	}
	b.SetParallelism(sockets / 2) // 256 writers on 2 cores
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		sess := fmt.Sprint("s", next.Add(1)%sockets)
		for pb.Next() {
			if err := write(sess); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}
