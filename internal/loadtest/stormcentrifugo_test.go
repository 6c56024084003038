package loadtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeCentrifugo serves as much of Centrifugo's bidirectional JSON
// protocol as a storm uses: it answers a client's connect and subscribe
// commands, then pings it every interval and, as Centrifugo does, closes
// it with 3012 if it answered none of the last five pings. With dropAfter set,
// it closes every client that long after it subscribed.
type fakeCentrifugo struct {
	interval, dropAfter time.Duration

	pongs    atomic.Int64
	mu       sync.Mutex
	channels map[string]int
}

func (f *fakeCentrifugo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := context.Background()
	_, join, err := ws.Read(ctx)
	lines := bytes.Split(join, []byte("\n"))
	if err != nil || len(lines) != 2 || !bytes.Contains(lines[0], []byte(`"connect":`)) {
		ws.Close(websocket.StatusProtocolError, "want a connect and a subscribe command")
		return
	}
	channel, _, _ := strings.Cut(string(lines[1][bytes.Index(lines[1], []byte(`"channel":"`))+11:]), `"`)
	f.mu.Lock()
	f.channels[channel]++
	f.mu.Unlock()
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":1,"connect":{"client":"c","ping":1,"pong":true}}`+"\n"+`{"id":2,"subscribe":{}}`))

	var ponged atomic.Bool
	missed := 0
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if string(b) == "{}" {
				ponged.Store(true)
				f.pongs.Add(1)
			}
		}
	}()
	var drop <-chan time.Time
	if f.dropAfter > 0 {
		drop = time.After(f.dropAfter)
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	ponged.Store(true)
	for {
		select {
		case <-drop:
			ws.Close(websocket.StatusCode(3001), "shutdown")
			return
		case <-tick.C:
			if missed = missed + 1; ponged.Swap(false) {
				missed = 0
			}
			if missed == 5 {
				ws.Close(websocket.StatusCode(3012), "no pong")
				return
			}
			if ws.Write(ctx, websocket.MessageText, []byte("{}")) != nil {
				return
			}
		}
	}
}

func startFakeCentrifugo(t *testing.T, f *fakeCentrifugo) string {
	f.channels = map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/connection/websocket?channel=chat"
}

// TestStormCentrifugo: the storm speaks Centrifugo's protocol: it
// subscribes its clients over the channels of -rooms, answers the server's
// pings while it holds them, and reports the server's memory from -pid.
func TestStormCentrifugo(t *testing.T) {
	t.Parallel()
	f := &fakeCentrifugo{interval: 100 * time.Millisecond}
	url := startFakeCentrifugo(t, f)
	r := runJSON(t, "-mode", "storm", "-dialect", "centrifugo", "-url", url, "-clients", "20", "-rooms", "2",
		"-hold", "1s", "-pid", strconv.Itoa(os.Getpid()))
	st := r.Storm
	if st == nil || st.Connected != 20 || st.Failed != 0 || st.Lost != 0 || st.HandshakesPerSec <= 0 {
		t.Fatalf("storm report %+v", st)
	}
	if st.Server == nil || st.Server.Error != "" || st.Server.RSSAfterKB <= 0 {
		t.Errorf("server report %+v", st.Server)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.channels["chat-0"] != 10 || f.channels["chat-1"] != 10 {
		t.Errorf("subscriptions per channel %v, want 10 in each of chat-0 and chat-1", f.channels)
	}
	if n := f.pongs.Load(); n < 20*5 {
		t.Errorf("%d pongs during a 1 s hold with a ping every 100 ms, want at least %d", n, 20*5)
	}
}

// TestStormCountsDrops: sockets the server closes during the hold are
// reported as lost.
func TestStormCountsDrops(t *testing.T) {
	t.Parallel()
	url := startFakeCentrifugo(t, &fakeCentrifugo{interval: time.Second, dropAfter: 100 * time.Millisecond})
	r := runJSON(t, "-mode", "storm", "-dialect", "centrifugo", "-url", url, "-clients", "10", "-hold", "500ms")
	if st := r.Storm; st.Connected != 10 || st.Lost != 10 {
		t.Fatalf("storm report %+v, want 10 connected and 10 lost", st)
	}
}
