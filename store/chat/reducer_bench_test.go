package chat_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// BenchmarkReduce measures the chat reducer alone on message writes into a
// room whose message window (history) and clientId window are full, as in
// a long-running room. The cost per write must not grow with the history
// (docs/architecture.md, rule 4, "Immutable states").
//
//	go test -run '^$' -bench BenchmarkReduce -benchmem ./store/chat
func BenchmarkReduce(b *testing.B) {
	for _, history := range []int{1000, 100_000} {
		for _, withClientID := range []bool{false, true} {
			b.Run(fmt.Sprintf("history=%d/clientId=%v", history, withClientID), func(b *testing.B) {
				reduce := chat.NewReducer(chat.Options{History: history})
				var s chat.State
				var seq uint64
				apply := func(a *actions.Action) {
					seq++
					a.Seq = seq
					s = reduce(s, a)
				}
				write := func(i int) *actions.Action {
					w := actions.WriteMessage{Message: "I pushed the fix, please review when you have a moment"}
					if withClientID {
						w.ClientID = "c" + strconv.Itoa(i)
					}
					return &actions.Action{Type: actions.TypeWriteMessage, Room: "chat", Session: "s1", User: "u1",
						ID: "0193a5c2-7d4e-7b1a-8f00-000000000000", At: t0, Payload: w}
				}
				// Other rooms, so that the rooms map is not trivially small.
				for r := range 16 {
					apply(&actions.Action{Type: actions.TypeOpenSession, Room: fmt.Sprint("room-", r), Session: fmt.Sprint("s-", r)})
				}
				apply(&actions.Action{Type: actions.TypeOpenSession, Room: "chat", Session: "s1"})
				apply(&actions.Action{Type: actions.TypeConnect, Room: "chat", Session: "s1", User: "u1", Payload: actions.Connect{Username: "ann"}})
				i := 0
				for ; i < 2*max(history, chat.MinDedupe); i++ {
					apply(write(i))
				}
				// Build the actions outside the timer: only the reducer is measured.
				const batch = 4096
				acts := make([]*actions.Action, batch)
				b.ReportAllocs()
				b.ResetTimer()
				for n := 0; n < b.N; n += batch {
					b.StopTimer()
					for j := range acts {
						acts[j] = write(i)
						i++
					}
					b.StartTimer()
					for _, a := range acts[:min(batch, b.N-n)] {
						apply(a)
					}
				}
				b.StopTimer()
				if n := s.Room("chat").MessageCount(); n != history {
					b.Fatalf("the window holds %d messages, want %d", n, history)
				}
			})
		}
	}
}
