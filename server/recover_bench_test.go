package server_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
)

// startupActions is the length of the log BenchmarkStartup recovers.
const startupActions = 1_000_000

// startupSnapshotEvery is how often the benchmark's log got a snapshot.
const startupSnapshotEvery = 100_000

// BenchmarkStartup measures the recovery New does before the server
// listens (file.Open, which checks every record, then store.Open, which
// loads the newest snapshot and folds the records after it) on a data directory of
// 1,000,000 actions, and how fast store.Fold replays the whole log with the
// chat reducer. Building the directory takes a while; it happens once per
// run, outside the timer.
//
//	go test -run '^$' -bench BenchmarkStartup -benchtime 5x ./server
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	built := time.Now()
	buildStartupLog(b, dir, startupActions)
	b.Logf("built a log of %d actions (%.0f MB) in %v", startupActions, float64(dirBytes(b, filepath.Join(dir, "log")))/1e6, time.Since(built).Round(time.Millisecond))

	// The clean case: the newest snapshot is the one Close wrote.
	b.Run("recover", func(b *testing.B) { benchmarkRecover(b, dir) })
	b.Run("fold", func(b *testing.B) { benchmarkFold(b, dir) })
	// After a crash the last snapshot is a periodic one: the records after
	// it (up to startupSnapshotEvery) are folded too.
	removeNewestSnapshot(b, dir)
	b.Run("recover-after-crash", func(b *testing.B) { benchmarkRecover(b, dir) })
}

// benchmarkRecover opens the directory like New does, until the store's
// state is recovered.
func benchmarkRecover(b *testing.B, dir string) {
	var seq uint64
	for b.Loop() {
		l, err := file.Open(dir, file.Options{Fsync: file.Always})
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(context.Background(), chat.State{}, chat.NewReducer(chat.Options{}), store.Options[chat.State]{
			Log: l, Snapshots: l, Codec: chat.Codec{}, SnapshotEvery: store.DefaultSnapshotEvery,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		seq = st.Seq()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	if seq != startupActions {
		b.Fatalf("recovered seq %d, want %d", seq, startupActions)
	}
}

// benchmarkFold replays the whole log into the chat state.
func benchmarkFold(b *testing.B, dir string) {
	// Collecting less often makes a fold about a third faster.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	reduce := chat.NewReducer(chat.Options{})
	n := 0
	for b.Loop() {
		_, seq, err := store.Fold(context.Background(), l, chat.State{}, 0, reduce, nil)
		if err != nil || seq != startupActions {
			b.Fatalf("fold ended at seq %d: %v", seq, err)
		}
		n++
	}
	b.ReportMetric(float64(n*startupActions)/b.Elapsed().Seconds(), "actions/s")
}

// buildStartupLog writes n actions of a realistic chat into dir through the
// store, with fsync off: 300 users in 4 rooms (some in two), each on a
// socket that connects, writes messages (three in four with a clientId),
// sometimes reloads the page or leaves for a while (a close and, a grace
// period later, the expiry). 32 writers dispatch at once, as sockets do.
func buildStartupLog(b *testing.B, dir string, n int) {
	l, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), chat.State{}, chat.NewReducer(chat.Options{}), store.Options[chat.State]{
		Log: l, Snapshots: l, Codec: chat.Codec{}, SnapshotEvery: startupSnapshotEvery,
	})
	if err != nil {
		b.Fatal(err)
	}
	var slots atomic.Int64 // actions claimed so far
	t0 := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	dispatch := func(a *actions.Action) bool {
		slot := slots.Add(1)
		if slot > int64(n) {
			return false
		}
		a.ID = fmt.Sprintf("0193%04x-%04x-7%03x-8%03x-%012x", slot>>16, slot&0xffff, slot%0xfff, slot%0x7ff, slot)
		a.At = t0.Add(time.Duration(slot) * 3 * time.Millisecond)
		if err := st.Dispatch(context.Background(), a); err != nil {
			b.Error(err)
			return false
		}
		return true
	}
	dispatch(&actions.Action{Type: actions.TypeServerStart})

	const writers, users = 32, 300
	rooms := []string{"chat", "general", "random", "support"}
	phrases := []string{"hi all", "anyone around?", "the build is green again", "lunch in ten minutes?",
		"I pushed the fix, please review when you have a moment", "ok", "thanks!", "see you tomorrow",
		"has anyone seen the latest numbers from the load test? they look much better than last week"}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			type sock struct {
				user, name, room, session string
				away                      bool
			}
			var socks []*sock
			sessions := 0
			open := func(s *sock) bool {
				sessions++
				s.session = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", w, sessions, w, sessions%0xfff, rng.Int63()&0xffffffffffff)
				return dispatch(&actions.Action{Type: actions.TypeOpenSession, Room: s.room, Session: s.session}) &&
					dispatch(&actions.Action{Type: actions.TypeConnect, Room: s.room, Session: s.session, User: s.user,
						Payload: actions.Connect{Username: s.name}})
			}
			for u := w; u < users; u += writers {
				s := &sock{user: fmt.Sprintf("17%011d", u), name: fmt.Sprintf("user%d", u), room: rooms[u%len(rooms)]}
				socks = append(socks, s)
				if u%5 == 0 { // a fifth of the users are in a second room too
					second := *s
					second.room = rooms[(u+1)%len(rooms)]
					socks = append(socks, &second)
				}
			}
			for _, s := range socks {
				if !open(s) {
					return
				}
			}
			for msg := 0; ; msg++ {
				s := socks[rng.Intn(len(socks))]
				ok := true
				switch r := rng.Intn(1000); {
				case s.away: // back after a while
					s.away = false
					ok = open(s)
				case r < 15: // a page reload: close, then the same user on a new socket
					ok = dispatch(&actions.Action{Type: actions.TypeCloseSession, Room: s.room, Session: s.session, User: s.user}) && open(s)
				case r < 20: // leaves; the grace period runs out
					closing := &actions.Action{Type: actions.TypeCloseSession, Room: s.room, Session: s.session, User: s.user}
					ok = dispatch(closing) && dispatch(&actions.Action{Type: actions.TypeExpirePresence, Room: s.room, User: s.user,
						Payload: actions.Expire{Since: closing.Seq}})
					s.away = true
				default:
					text := fmt.Sprintf("%s (%d)", phrases[rng.Intn(len(phrases))], msg)
					clientID := ""
					if r%4 != 0 {
						clientID = fmt.Sprintf("%x-%d", w, msg)
					}
					ok = dispatch(&actions.Action{Type: actions.TypeWriteMessage, Room: s.room, Session: s.session, User: s.user,
						Payload: actions.WriteMessage{Message: text, ClientID: clientID}})
				}
				if !ok {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := st.Close(); err != nil { // writes the final snapshot
		b.Fatal(err)
	}
	if b.Failed() {
		b.FailNow()
	}
}

// removeNewestSnapshot deletes the snapshot Close wrote, as if the server
// had crashed before it.
func removeNewestSnapshot(b *testing.B, dir string) {
	l, err := file.Open(dir, file.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	seqs, err := l.SnapshotSeqs()
	l.Close()
	if err != nil || len(seqs) < 2 {
		b.Fatalf("snapshots %v: %v", seqs, err)
	}
	slices.Sort(seqs)
	newest, before := seqs[len(seqs)-1], seqs[len(seqs)-2]
	if err := os.Remove(filepath.Join(dir, "snapshots", fmt.Sprintf("%020d.snap", newest))); err != nil {
		b.Fatal(err)
	}
	b.Logf("removed the snapshot at seq %d; recovery now starts from the one at seq %d and folds %d records", newest, before, newest-before)
}

func dirBytes(b *testing.B, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			size += fi.Size()
		}
	}
	return size
}

// BenchmarkReduceWrite is the chat reducer alone on message writes into a
// room whose message window (chat.DefaultHistory) and clientId window are
// full, as they are in a long-running room: the part of a fold's cost per
// action that is not reading the log.
//
//	go test -run '^$' -bench BenchmarkReduceWrite ./server
func BenchmarkReduceWrite(b *testing.B) {
	for _, withClientID := range []bool{false, true} {
		b.Run(fmt.Sprint("clientId=", withClientID), func(b *testing.B) {
			reduce := chat.NewReducer(chat.Options{})
			var s chat.State
			var seq uint64
			apply := func(a *actions.Action) {
				seq++
				a.Seq = seq
				s = reduce(s, a)
			}
			at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
			write := func(i int) *actions.Action {
				w := actions.WriteMessage{Message: "I pushed the fix, please review when you have a moment"}
				if withClientID {
					w.ClientID = "c" + strconv.Itoa(i)
				}
				return &actions.Action{Type: actions.TypeWriteMessage, Room: "chat", Session: "s1", User: "u1",
					ID: "0193a5c2-7d4e-7b1a-8f00-000000000000", At: at, Payload: w}
			}
			apply(&actions.Action{Type: actions.TypeOpenSession, Room: "chat", Session: "s1"})
			apply(&actions.Action{Type: actions.TypeConnect, Room: "chat", Session: "s1", User: "u1", Payload: actions.Connect{Username: "ann"}})
			i := 0
			for ; i < 2*max(chat.DefaultHistory, chat.MinDedupe); i++ {
				apply(write(i))
			}
			b.ReportAllocs()
			for b.Loop() {
				apply(write(i))
				i++
			}
			if n := s.Room("chat").MessageCount(); n != chat.DefaultHistory {
				b.Fatalf("the window holds %d messages, want %d", n, chat.DefaultHistory)
			}
		})
	}
}
