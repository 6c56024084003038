package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestV1FramesKeepTheirBudget: with messages of the longest length and the
// default history of 1,000, each v1 `messageWritten` carries only the
// newest messages that fit the default 1 MiB, so v1 readers keep up and
// stay connected; the state (and v2) keeps every retained message.
func TestV1FramesKeepTheirBudget(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{RateLimit: noRateLimit})
	const budget, writes = 1 << 20, 60
	writer, _ := s.Join(t, "/chat/long", "writer", "writer")
	readers := make([]*chattest.Client, 3)
	for i := range readers {
		readers[i], _ = s.Join(t, "/chat/long", string(rune('a'+i)), "reader")
	}
	long := strings.Repeat("é", 16384) // the longest message: 16,384 characters, 32 KiB
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	readers = append(readers, writer) // the writer reads its own frames too
	done := make(chan error, len(readers))
	for _, r := range readers {
		go func() { done <- readAllWritten(ctx, r, writes, budget) }()
	}
	for range writes {
		writer.Say(long)
		time.Sleep(50 * time.Millisecond) // a fast typist, not a flood
	}
	for range readers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Store().GetState().Room("long").MessageCount(); n != writes {
		t.Fatalf("the state holds %d messages, want all %d", n, writes)
	}
}

// readAllWritten reads r's frames until the writes-th messageWritten,
// checking that each fits the budget (only the last is decoded: decoding
// megabytes per frame would make the reader, not the server, slow).
func readAllWritten(ctx context.Context, r *chattest.Client, writes, budget int) error {
	prefix := []byte(`{"event":"messageWritten"`)
	for seen := 0; seen < writes; {
		_, b, err := r.Conn().Read(ctx)
		if err != nil {
			return fmt.Errorf("after %d messageWritten: %w", seen, err)
		}
		if !bytes.HasPrefix(b, prefix) {
			continue
		}
		if seen++; len(b) > budget {
			return fmt.Errorf("messageWritten %d is %d bytes, budget %d", seen, len(b), budget)
		}
		if seen < writes {
			continue
		}
		var e struct{ MessagesList []struct{ Seq uint64 } }
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		// About 31 messages of 32 KiB fit 1 MiB: the window is cut, not emptied.
		if n := len(e.MessagesList); n < 20 || n > 40 {
			return fmt.Errorf("the last messageWritten lists %d messages", n)
		}
	}
	return nil
}
