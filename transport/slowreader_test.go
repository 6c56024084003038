package transport_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestSlowReaderCloses1013: a client that stops reading while the others
// chat is closed with 1013 once its send queue is full; the others get
// every message, in order, while it lags, and the server never waits for it.
func TestSlowReaderCloses1013(t *testing.T) {
	const sendQueue, total = 16, 80
	// ann writes 80 messages back to back: far above the rate limit.
	s := chattest.Start(t, server.Config{Transport: transport.Config{SendQueue: sendQueue}, History: 20, Grace: 100 * time.Millisecond, RateLimit: noRateLimit})
	slow := dialSmallBuffer(t, s, "/chat")
	slow.Send(map[string]any{"event": "connecting", "id": "slow", "username": "slow"})
	slow.Expect("connected")
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	ann.Expect("joined")

	// slow reads nothing from here on. Each message is echoed to ann and
	// bob before the next is sent: if the server waited for slow, an echo
	// would stall.
	text := func(i int) string { return fmt.Sprintf("%03d %s", i, strings.Repeat("x", 8<<10)) }
	for i := range total {
		ann.Say(text(i))
		for _, c := range []*chattest.Client{ann, bob} {
			if ev, u, m := newest(t, c); ev != "messageWritten" || u != "ann" || m != text(i) {
				t.Fatalf("got %s %s: %.10q, want messageWritten ann: %.10q", ev, u, m, text(i))
			}
		}
	}
	// slow now reads what reached it: its connected was read already; then
	// the joined events, a prefix of the messages in order, then 1013.
	var got int
	for {
		ev, _, m, err := tryNewest(slow)
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
				t.Fatalf("slow reader closed with %d (%v) after %d messages, want 1013", st, err, got)
			}
			break
		}
		switch ev {
		case "joined":
			continue
		case "messageWritten":
			if m != text(got) {
				t.Fatalf("slow reader's message %d is %.10q, want %.10q", got, m, text(got))
			}
			got++
		default:
			t.Fatalf("slow reader got %s", ev)
		}
	}
	if got >= total {
		t.Fatalf("slow reader got all %d messages before 1013", got)
	}
	t.Logf("slow reader got %d of %d messages before 1013", got, total)
	// The room goes on without it.
	if d := ann.Expect("disconnected"); d.Str("id") != "slow" {
		t.Fatalf("disconnected = %v, want slow", d)
	}
	bob.Expect("disconnected")
	bob.Say("after")
	for _, c := range []*chattest.Client{ann, bob} {
		expectMessage(t, c, "bob", "after")
	}
}
