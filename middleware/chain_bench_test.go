package middleware_test

import (
	"context"
	"fmt"
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
