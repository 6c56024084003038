package loadtest

import (
	"os"
	"strconv"
	"testing"

	"github.com/statecast/statecast/server"
)

func TestStorm(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	r := runJSON(t, "-mode", "storm", "-url", s.URL("/chat/storm"), "-clients", "100", "-concurrency", "50",
		"-hold", "100ms", "-pid", strconv.Itoa(os.Getpid()))
	st := r.Storm
	if st == nil || st.Connected != 100 || st.Failed != 0 || st.HandshakesPerSec <= 0 || st.Latency.N != 100 {
		t.Fatalf("storm report %+v", st)
	}
	// Each of 100 users' joined reaches the sockets connected before it.
	if st.Frames < 100*99/2 {
		t.Errorf("%d frames after connecting, want at least %d joined events", st.Frames, 100*99/2)
	}
	if st.Server == nil || st.Server.Error != "" || st.Server.RSSAfterKB <= 0 {
		t.Errorf("server report %+v", st.Server)
	}
}

func TestStormRooms(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	r := runJSON(t, "-mode", "storm", "-url", s.URL("/chat"), "-clients", "40", "-rooms", "4", "-hold", "0s")
	if st := r.Storm; st.Connected != 40 || st.Frames != 4*10*9/2 {
		t.Fatalf("storm over 4 rooms: %+v, want 40 connected and %d joined events", st, 4*10*9/2)
	}
}

func TestRoomURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base string
		k, n int
		want string
	}{
		{"ws://127.0.0.1:3005/chat", 3, 1, "ws://127.0.0.1:3005/chat"},
		{"ws://127.0.0.1:3005/chat", 3, 10, "ws://127.0.0.1:3005/chat/bench-3"},
		{"ws://127.0.0.1:3005/chat/", 0, 2, "ws://127.0.0.1:3005/chat/bench-0"},
		{"ws://127.0.0.1:3005/chat/lobby", 1, 2, "ws://127.0.0.1:3005/chat/lobby-1"},
	} {
		if got := roomURL(tc.base, tc.k, tc.n); got != tc.want {
			t.Errorf("roomURL(%s, %d, %d) = %s, want %s", tc.base, tc.k, tc.n, got, tc.want)
		}
	}
}
