package file

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestOnSync: under Always, every Append's fsync reaches the hook, and so
// does a sync before a snapshot; under Off,
// appends do not fsync, so the hook is quiet until a snapshot needs one.
func TestOnSync(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  Options
		after int64 // hook calls after 5 appends
	}{
		{"always", Options{Fsync: Always}, 5},
		// A roll before each append but the first finds the segment it
		// closes already on the disk: it does not fsync it again.
		{"always with rolls", Options{Fsync: Always, SegmentSize: 1}, 5},
		{"off", Options{Fsync: Off}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			tc.opts.OnSync = func(d time.Duration) {
				if d < 0 {
					t.Errorf("OnSync got a negative duration %v", d)
				}
				calls.Add(1)
			}
			l := mustOpen(t, t.TempDir(), tc.opts)
			fill(t, l, 5)
			if got := calls.Load(); got != tc.after {
				t.Fatalf("OnSync called %d times after 5 appends, want %d", got, tc.after)
			}
			if err := l.SaveSnapshot(5, []byte("state")); err != nil {
				t.Fatal(err)
			}
			want := tc.after
			if tc.opts.Fsync == Off {
				want++ // the snapshot made the log durable first
			}
			if got := calls.Load(); got != want {
				t.Fatalf("OnSync called %d times after a snapshot, want %d", got, want)
			}
		})
	}
}
