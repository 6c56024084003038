package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestMetricsEndToEnd: clients chat, send a bad frame and an action the
// chain rejects, one socket is closed by the server (1003) and one by its
// client (1000); /metrics then shows exactly what they caused.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	// A long grace: no presence expiry joins the counts while the test runs.
	s := chattest.Start(t, server.Config{Grace: time.Hour, Limits: middleware.Limits{Message: 10}})
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := s.Get(t, path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}

	ann, _ := s.Join(t, "/chat/m", "ann", "ann")
	bob, _ := s.Join(t, "/chat/m", "bob", "bob")
	ann.Expect("joined")
	for i, from := range []*chattest.Client{ann, ann, ann, bob, bob} {
		from.Say(fmt.Sprint("hi ", i))
		ann.Expect("messageWritten")
		bob.Expect("messageWritten")
	}
	ann.SendRaw(websocket.MessageText, []byte("{not json"))
	expectCode(t, ann, "invalid_json")
	ann.Say("far more than ten characters")
	expectCode(t, ann, "message_too_long")

	carol, _ := s.Join(t, "/chat/m", "carol", "carol")
	carol.SendRaw(websocket.MessageBinary, []byte("binary"))
	carol.ExpectClose(websocket.StatusUnsupportedData)
	leave(bob)

	sc := waitMetrics(t, s, "both closes recorded", func(sc scrape) bool {
		return sc.value("statecast_connections_open") == 1 && sc.value("statecast_send_queue_frames") == 0 &&
			sc.value("statecast_actions_total", "type=session/close") == 2 &&
			sc.value("statecast_socket_closes_total", "by=server", "code=1003") == 1 &&
			sc.value("statecast_socket_closes_total", "by=client", "code=1000") == 1
	})
	const applied = 1 + 3 + 3 + 5 + 2 // server/start, opens, connects, messages, closes
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"statecast_actions_total", []string{"type=server/start"}, 1},
		{"statecast_actions_total", []string{"type=session/open"}, 3},
		{"statecast_actions_total", []string{"type=session/connect"}, 3},
		{"statecast_actions_total", []string{"type=message/write"}, 5},
		{"statecast_actions_total", []string{"type=session/close"}, 2},
		{"statecast_actions_rejected_total", []string{"code=message_too_long"}, 1},
		{"statecast_dispatch_duration_seconds", []string{"type=message/write"}, 6}, // rejected ones are timed too
		{"statecast_frames_rejected_total", []string{"code=invalid_json"}, 1},
		{"statecast_frames_rejected_total", []string{"code=message_too_long"}, 1},
		{"statecast_connections_total", nil, 3},
		{"statecast_connections_open", nil, 1},
		{"statecast_socket_closes_total", []string{"by=server", "code=1003"}, 1},
		{"statecast_socket_closes_total", []string{"by=client", "code=1000"}, 1},
		{"statecast_send_queue_drops_total", nil, 0},
	} {
		if got := sc.value(tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// Every applied action went through the log once, in some batch.
	if got := sc.sum("statecast_log_append_batch_size"); got != applied {
		t.Errorf("actions appended to the log = %v, want %d", got, applied)
	}
	if got := sc.byLabel("statecast_actions_total", "type"); len(got) != 5 {
		t.Errorf("actions by type = %v, want exactly the 5 types above", got)
	}
	if got := sc.byLabel("statecast_actions_rejected_total", "code"); len(got) != 1 {
		t.Errorf("rejections by code = %v, want only message_too_long", got)
	}
	// 1 connected + 2 for bob's arrival + 10 messages + 2 errors + carol's
	// connected and joined (2): at least; a protocol change may add frames.
	if got := sc.value("statecast_frames_queued_total"); got < 1+2+10+2+3 {
		t.Errorf("statecast_frames_queued_total = %v, want at least 18", got)
	}
	for _, name := range []string{"statecast_log_fsync_duration_seconds", "statecast_log_append_duration_seconds"} {
		if got := sc.value(name); got < 1 {
			t.Errorf("%s count = %v, want > 0 (fsync=always)", name, got)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if sc[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	// The registry behind /metrics is the server's own.
	if mfs, err := s.Metrics().Gather(); err != nil || len(mfs) == 0 {
		t.Errorf("Metrics().Gather() = %d families, %v", len(mfs), err)
	}
}

// TestMetricsCountSlowReaderDrop: a socket closed with 1013 for a full
// send queue counts as a drop and as a server close with 1013.
func TestMetricsCountSlowReaderDrop(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Transport: transport.Config{SendQueue: 4}, History: 20, Grace: time.Hour})
	slow := s.Dial(t, "/chat", smallBuffer())
	slow.Send(chattest.Connecting(map[string]any{"id": "slow", "username": "slow"}))
	slow.Expect("connected")
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	bob, _ := s.Join(t, "/chat", "bob", "bob")
	// slow reads nothing from here on; big frames (up to 20 messages of
	// 16 KB each) fill its TCP buffers and then its queue. Two senders stay
	// within any per-socket rate limit's burst.
	text := strings.Repeat("x", 16000)
	senders := []*chattest.Client{ann, bob}
	for sent := 0; scrapeMetrics(t, s).value("statecast_send_queue_drops_total") == 0; sent++ {
		if sent == 300 {
			t.Fatal("300 messages and the slow reader is still not dropped")
		}
		sayPaced(t, senders[sent%2], text, sent/2)
		skimUntil(t, senders[(sent+1)%2], "messageWritten")
	}
	// Its writer may still be stuck in a write (up to the write timeout):
	// reading again lets it reach the close.
	// (Raw reads: decoding megabytes of JSON is slow under -race.)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := slow.Conn().Read(ctx)
		cancel()
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
				t.Fatalf("slow reader closed with %d (%v), want 1013", st, err)
			}
			break
		}
	}
	sc := waitMetrics(t, s, "the slow socket's close", func(sc scrape) bool {
		return sc.value("statecast_socket_closes_total", "by=server", "code=1013") == 1
	})
	if got := sc.value("statecast_send_queue_drops_total"); got != 1 {
		t.Errorf("statecast_send_queue_drops_total = %v, want 1", got)
	}
	if got := sc.value("statecast_connections_open"); got != 2 {
		t.Errorf("statecast_connections_open = %v, want 2 (ann and bob)", got)
	}
}

// TestMetricsOff: DisableMetrics serves no /metrics, and Metrics is nil.
func TestMetricsOff(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{DisableMetrics: true})
	if resp, _ := s.Get(t, "/metrics"); resp.StatusCode == http.StatusOK {
		t.Fatalf("GET /metrics with DisableMetrics: %d, want an error", resp.StatusCode)
	}
	if resp, _ := s.Get(t, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}
	if s.Metrics() != nil {
		t.Fatal("Metrics() with DisableMetrics: want nil")
	}
}
