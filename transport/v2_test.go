package transport

import "testing"

// TestRememberKeepsTheNewestChanges: the resume window keeps the newest
// changes within its count and its bytes, in order, and says which seq it
// forgot last; long runs compact it without losing anything.
func TestRememberKeepsTheNewestChanges(t *testing.T) {
	t.Parallel()
	op := func(n int) [][]byte { return [][]byte{make([]byte, n)} }
	tests := []struct {
		name          string
		window, bytes int
		changes       int
		size          int
		wantFirst     uint64 // seq of the oldest change kept
		wantForgotten uint64
	}{
		{"under both bounds", 10, 1000, 5, 10, 1, 0},
		{"count bound", 10, 1 << 20, 25, 10, 16, 15},
		{"byte bound", 100, 100, 25, 10, 16, 15},
		{"one change over the bytes is still kept", 10, 5, 3, 10, 3, 2},
		{"long run compacts", 8, 1 << 20, 1000, 1, 993, 992},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRoomFeed(nil, 0, Config{ResumeWindow: tt.window, ResumeBytes: tt.bytes})
			for seq := 1; seq <= tt.changes; seq++ {
				f.remember(uint64(seq), op(tt.size))
			}
			kept := f.recent[f.head:]
			if kept[0].seq != tt.wantFirst || f.forgotten != tt.wantForgotten {
				t.Fatalf("oldest kept %d, forgotten %d; want %d, %d", kept[0].seq, f.forgotten, tt.wantFirst, tt.wantForgotten)
			}
			for i, ch := range kept {
				if ch.seq != tt.wantFirst+uint64(i) {
					t.Fatalf("change %d has seq %d: order lost", i, ch.seq)
				}
			}
			if bytes := len(kept) * tt.size; f.recentBytes != bytes {
				t.Fatalf("recentBytes = %d, want %d", f.recentBytes, bytes)
			}
			if len(f.recent) > 2*tt.window+64 {
				t.Fatalf("the slice holds %d changes for a window of %d: not compacted", len(f.recent), tt.window)
			}
		})
	}
}
