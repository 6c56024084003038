package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

// get returns the status and body of GET path on the server.
func (s *testServer) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// metrics scrapes /metrics and parses the exposition.
func (s *testServer) metrics() scrape {
	s.t.Helper()
	code, body := s.get("/metrics")
	if code != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		s.t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return families
}

// value returns the counter or gauge value, or the histogram sample count,
// of the series of name whose labels are exactly labels ("k=v" pairs); 0
// if there is none.
func (sc scrape) value(name string, labels ...string) float64 {
	f := sc[name]
	if f == nil {
		return 0
	}
	want := strings.Join(labels, ",")
	for _, m := range f.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// byLabel returns the values of every series of name by their label.
func (sc scrape) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range sc[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] = sc.value(name, label+"="+l.GetValue())
			}
		}
	}
	return out
}

// sum returns the sample sum of the histogram name without labels.
func (sc scrape) sum(name string) float64 {
	for _, m := range sc[name].GetMetric() {
		return m.GetHistogram().GetSampleSum()
	}
	return 0
}

// waitMetrics scrapes until ready holds, and returns that scrape.
func (s *testServer) waitMetrics(what string, ready func(scrape) bool) scrape {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sc := s.metrics()
		if ready(sc) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsEndToEnd: clients chat, send a bad frame and an action the
// chain rejects, one socket is closed by the server (1003) and one by its
// client (1000); /metrics then shows exactly what they caused.
func TestMetricsEndToEnd(t *testing.T) {
	// A long grace: no presence expiry joins the counts while the test runs.
	s := startServer(t, "-grace", "1h", "-max-message", "10")
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := s.get(path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}

	ann, _ := s.join("/chat/m", "ann", "ann")
	bob, _ := s.join("/chat/m", "bob", "bob")
	ann.expect("joined")
	for i, from := range []*client{ann, ann, ann, bob, bob} {
		from.epSay(fmt.Sprint("hi ", i))
		ann.expect("messageWritten")
		bob.expect("messageWritten")
	}
	ann.sendRaw(websocket.MessageText, []byte("{not json"))
	ann.epExpectError("invalid_json")
	ann.epSay("far more than ten characters")
	ann.epExpectError("message_too_long")

	carol, _ := s.join("/chat/m", "carol", "carol")
	carol.sendRaw(websocket.MessageBinary, []byte("binary"))
	carol.epExpectClose(websocket.StatusUnsupportedData)
	bob.leave()

	sc := s.waitMetrics("both closes recorded", func(sc scrape) bool {
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
}

// TestMetricsCountSlowReaderDrop: a socket closed with 1013 for a full
// send queue counts as a drop and as a server close with 1013.
func TestMetricsCountSlowReaderDrop(t *testing.T) {
	s := startServer(t, "-send-queue", "4", "-history", "20", "-grace", "1h")
	slow := s.dialSmallBuffer("/chat")
	slow.send(map[string]any{"event": "connecting", "id": "slow", "username": "slow"})
	slow.expect("connected")
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	// slow reads nothing from here on; big frames (up to 20 messages of
	// 16 KB each) fill its TCP buffers and then its queue. Two senders stay
	// within any per-socket rate limit's burst.
	text := strings.Repeat("x", 16000)
	senders := []*client{ann, bob}
	for sent := 0; s.metrics().value("statecast_send_queue_drops_total") == 0; sent++ {
		if sent == 300 {
			t.Fatal("300 messages and the slow reader is still not dropped")
		}
		senders[sent%2].sayPaced(text, sent/2)
		senders[(sent+1)%2].skimUntil("messageWritten")
	}
	// Its writer may still be stuck in a write (up to the write timeout):
	// reading again lets it reach the close.
	// (Raw reads: decoding megabytes of JSON is slow under -race.)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := slow.conn.Read(ctx)
		cancel()
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
				t.Fatalf("slow reader closed with %d (%v), want 1013", st, err)
			}
			break
		}
	}
	sc := s.waitMetrics("the slow socket's close", func(sc scrape) bool {
		return sc.value("statecast_socket_closes_total", "by=server", "code=1013") == 1
	})
	if got := sc.value("statecast_send_queue_drops_total"); got != 1 {
		t.Errorf("statecast_send_queue_drops_total = %v, want 1", got)
	}
	if got := sc.value("statecast_connections_open"); got != 2 {
		t.Errorf("statecast_connections_open = %v, want 2 (ann and bob)", got)
	}
}

// sayPaced writes text as the sent-th message and waits for its echo,
// keeping under a per-socket rate limit if the server has one: the first
// 15 at once, then about 8 a second, and a retry after rate_limited.
func (c *client) sayPaced(text string, sent int) {
	c.t.Helper()
	if sent >= 15 {
		time.Sleep(120 * time.Millisecond)
	}
	for {
		c.epSay(text)
		switch ev, code := c.skimUntil("messageWritten", "error"); {
		case ev == "messageWritten":
			return
		case code != "rate_limited":
			c.t.Fatalf("got error %s, want messageWritten", code)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// skimUntil reads frames until one of the events in want, and returns it
// with its error code if any. It decodes no messageWritten frame (JSON
// scanning of big frames is slow under -race) and skips presence events.
func (c *client) skimUntil(want ...string) (ev, code string) {
	c.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.conn.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("waiting for %v: %v", want, err)
		}
		var e struct{ Event, Code string }
		if bytes.HasPrefix(b, []byte(`{"event":"messageWritten"`)) {
			e.Event = "messageWritten"
		} else if err := json.Unmarshal(b, &e); err != nil {
			c.t.Fatalf("frame %.80q: %v", b, err)
		}
		if slices.Contains(want, e.Event) {
			return e.Event, e.Code
		}
		if e.Event != "joined" && e.Event != "disconnected" {
			c.t.Fatalf("got %s, want one of %v", e.Event, want)
		}
	}
}

// TestMetricsOff: -metrics=false serves no /metrics.
func TestMetricsOff(t *testing.T) {
	s := startServer(t, "-metrics=false")
	if code, _ := s.get("/metrics"); code == http.StatusOK {
		t.Fatalf("GET /metrics with -metrics=false: %d, want an error", code)
	}
	if code, _ := s.get("/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz: %d", code)
	}
}
