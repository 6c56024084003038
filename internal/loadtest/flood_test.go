package loadtest

import (
	"testing"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
)

// TestFlood: at the server's default limits, a fan-out runs once alone and
// once while flooding sockets from the same address post as fast as they
// can; every message still reaches every client, and the flooders really
// flooded (and were closed and came back).
func TestFlood(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Fsync: file.Off}) // default rate limits
	r := runJSON(t, "-url", s.URL("/chat/calm"), "-clients", "20", "-writers", "5", "-messages", "100",
		"-rate", "40", "-flood", "3")
	if len(r.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(r.Runs))
	}
	for _, run := range r.Runs {
		checkRun(t, run, 20, 100)
	}
	f := r.Runs[1].Flood
	if f == nil || f.Sockets != 3 || f.Writes < 100 || f.Connects < 3 {
		t.Fatalf("flood report %+v: want 3 sockets that wrote and connected", f)
	}
	if r.Runs[0].Flood != nil {
		t.Fatal("the first run reports a flood")
	}
}

func TestFloodURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ws://127.0.0.1:3005/chat":         "ws://127.0.0.1:3005/chat-flood",
		"ws://127.0.0.1:3005/chat/lobby/":  "ws://127.0.0.1:3005/chat/lobby-flood",
		"ws://127.0.0.1:3005/chat/x?a=b#c": "ws://127.0.0.1:3005/chat/x-flood",
	} {
		if got := floodURL(in); got != want {
			t.Errorf("floodURL(%q) = %q, want %q", in, got, want)
		}
	}
}
