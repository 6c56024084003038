package transport_test

import (
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"golang.org/x/time/rate"
)

// TestRateLimitedReaderPauses: after a rate_limited refusal the server
// reads nothing more from that socket until the refusal's hint has
// passed, so a client that fires frames as fast as it can is answered at
// the pace of its hints, not once per frame it sent.
func TestRateLimitedReaderPauses(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{RateLimit: middleware.RateLimitOptions{PerSession: 5, SessionBurst: 1, PerAddress: rate.Inf}})
	c, _ := s.Join(t, "/chat", "fast", "fast") // takes the one token
	for range 30 {
		c.Say("spam")
	}
	start := time.Now()
	refusals := 0
	for time.Since(start) < 500*time.Millisecond {
		e, err := c.NextWithin(50 * time.Millisecond)
		if err != nil {
			break // nothing more within 50ms: the reader is pausing
		}
		if e.Name() == "error" {
			if e.Str("code") != "rate_limited" || e.Num("retryAfter") <= 0 {
				t.Fatalf("refusal %v: want rate_limited with a retryAfter", e)
			}
			refusals++
		}
	}
	// A 200ms hint at 5/s: about three refusals in the first half second,
	// not 29 at once (nor a close for abuse after 10 of them).
	if refusals == 0 || refusals > 5 {
		t.Fatalf("%d refusals within 500ms, want 1 to 5", refusals)
	}
}
