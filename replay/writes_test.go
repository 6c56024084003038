package replay_test

import (
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
)

// A live server keeps appending and snapshotting (and removing old
// snapshots) while replay reads: every run must succeed and see a prefix
// of the log, whole.
func TestReplayWhileServerWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// ann writes as fast as the server answers: far above the rate limits.
	s := chattest.Start(t, server.Config{Data: dir, SnapshotEvery: 2, Fsync: file.Off, History: 20,
		RateLimit: middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf}})
	ann, _ := s.Join(t, "/chat", "ann-id", "ann")
	// The writer sends bursts of 10 messages, then reads the 10 echoes,
	// until stop; done is closed when it ends, writeErr says why if early.
	var count atomic.Int64
	var writeErr error
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := int(count.Load())
			for i := range 10 {
				ann.Say(fmt.Sprint(n + i))
			}
			for range 10 {
				e, err := ann.NextWithin(5 * time.Second)
				if err == nil && e.Name() != "messageWritten" {
					err = fmt.Errorf("got %v", e)
				}
				if err != nil {
					writeErr = err
					return
				}
			}
			count.Add(10)
		}
	}()
	// check replays the directory: the state must hold a whole window of
	// messages (message i has seq i+4), and every snapshot must agree.
	check := func(n int) {
		t.Helper()
		rooms := rpLines[rpRoomJSON](t, rpMust(t, replay.Config{Dir: dir, History: 20, Format: replay.JSON}))
		r := rooms[0]
		for i, m := range r.Messages {
			if m.Message != fmt.Sprint(m.Seq-4) || i > 0 && m.Seq != r.Messages[i-1].Seq+1 || m.Seq > r.Seq {
				t.Fatalf("after seq %d, message %d is %+v", r.Seq, i, m)
			}
		}
		if last := len(r.Messages) - 1; n >= 0 && (last != min(n, 20)-1 || r.Messages[last].Message != fmt.Sprint(n-1)) {
			t.Fatalf("replay shows %d messages up to %+v, want the last 20 of the %d written", last+1, r.Messages[last], n)
		}
		if out, err := rpReplay(t, replay.Config{Dir: dir, History: 20, Verify: true}); err != nil || !regexp.MustCompile(`(^|\n)verified \d+ snapshots\n$|^no snapshots to verify against\n$`).MatchString(out) {
			t.Fatalf("verify: %v\n%s", err, out)
		}
	}
	var once sync.Once
	stopWriting := func() (int, error) {
		once.Do(func() { close(stop) })
		<-done
		return int(count.Load()), writeErr
	}
	defer stopWriting()
	for count.Load() < 200 { // a log long enough to take a while to read
		select {
		case <-done:
			t.Fatalf("the writer stopped after %d messages: %v", count.Load(), writeErr)
		case <-time.After(time.Millisecond):
		}
	}
	for range 20 {
		check(-1)
	}
	n, err := stopWriting()
	if err != nil {
		t.Fatalf("the writer stopped after %d messages: %v", n, err)
	}
	check(n)
	t.Logf("%d messages written while replay ran", n)
}
