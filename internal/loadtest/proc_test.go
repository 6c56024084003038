package loadtest

import (
	"os"
	"testing"
	"time"
)

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
