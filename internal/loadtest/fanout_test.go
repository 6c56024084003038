package loadtest

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"golang.org/x/time/rate"
)

func TestFanout(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	// The server runs in this process: -pid exercises the /proc readings.
	r := runJSON(t, "-url", s.URL("/chat/fanout"), "-clients", "20", "-writers", "4", "-messages", "200",
		"-inflight", "4", "-pid", strconv.Itoa(os.Getpid()))
	if len(r.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(r.Runs))
	}
	checkRun(t, r.Runs[0], 20, 200)
	if sv := r.Runs[0].Server; sv == nil || sv.Error != "" || sv.CPU <= 0 || sv.RSSAfterKB <= 0 || sv.CPUPerDeliveryUs <= 0 {
		t.Errorf("server report %+v", sv)
	}
	if r.Runs[0].Loadgen.Total <= 0 {
		t.Errorf("loadgen CPU %+v", r.Runs[0].Loadgen)
	}
}

func TestFixedRate(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	start := time.Now()
	r := runJSON(t, "-url", s.URL("/chat/rate"), "-clients", "5", "-writers", "2", "-messages", "50", "-rate", "250", "-size", "200")
	checkRun(t, r.Runs[0], 5, 50)
	// 50 messages at 250/s take at least 0.2 s.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("50 messages at 250/s took only %v", d)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	r := runJSON(t, "-mode", "history", "-history-fill", "300", "-url", s.URL("/chat/history"),
		"-clients", "20", "-writers", "4", "-messages", "200")
	if r.Fill == nil || r.Fill.Delivered != 300 || r.Fill.PerSecond <= 0 {
		t.Fatalf("fill report %+v", r.Fill)
	}
	checkRun(t, r.Runs[0], 20, 200)
}

func TestSlowReader(t *testing.T) {
	t.Parallel()
	// A short send queue, and history that makes every frame large, so that
	// the slow reader's socket buffers fill and its queue overflows.
	var cfg server.Config
	cfg.Transport.SendQueue = 40
	s := startServer(t, cfg)
	r := runJSON(t, "-slow", "1", "-history-fill", "300", "-size", "200", "-url", s.URL("/chat/slow"),
		"-clients", "20", "-writers", "4", "-messages", "200")
	if len(r.Runs) != 2 {
		t.Fatalf("%d runs, want 2 (without and with the slow reader)", len(r.Runs))
	}
	checkRun(t, r.Runs[0], 20, 200)
	checkRun(t, r.Runs[1], 20, 200)
	if len(r.Runs[0].SlowReaders) != 0 || len(r.Runs[1].SlowReaders) != 1 {
		t.Fatalf("slow reader reports %v, %v", r.Runs[0].SlowReaders, r.Runs[1].SlowReaders)
	}
	if sr := r.Runs[1].SlowReaders[0]; sr.CloseCode != int(websocket.StatusTryAgainLater) {
		t.Errorf("slow reader: %+v, want closed with 1013", sr)
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Run(ctx, []string{"-url", s.URL("/chat/text"), "-clients", "3", "-writers", "1", "-messages", "10"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"30/30 deliveries", "lost 0, duplicates 0", "latency: p50", "loadgen CPU"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLogReport: against a statecast with metrics, each run reports the
// action log's work: fsyncs, and actions per fsync.
func TestLogReport(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{RateLimit: middleware.RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf}})
	r := runJSON(t, "-url", s.URL("/chat/logged"), "-clients", "5", "-writers", "5", "-messages", "200")
	l := r.Runs[0].Log
	if l == nil || l.Fsyncs < 1 || l.Actions < 200 || l.ActionsPerFsync < 1 || l.FsyncsPerSec <= 0 {
		t.Fatalf("log report %+v: want fsyncs, at least the 200 writes, and actions per fsync", l)
	}
	if metricsURL("wss://example.com:8443/chat/x?y#z") != "https://example.com:8443/metrics" {
		t.Fatal(metricsURL("wss://example.com:8443/chat/x?y#z"))
	}
}
