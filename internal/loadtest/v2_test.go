package loadtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/server"
)

func TestV2(t *testing.T) {
	t.Parallel()
	s := startServer(t, server.Config{})
	r := runJSON(t, "-dialect", "v2", "-url", s.URL("/chat/v2"), "-clients", "20", "-writers", "4", "-messages", "200", "-inflight", "8")
	checkRun(t, r.Runs[0], 20, 200)
	if r.Runs[0].SeqRegressions != 0 || r.Runs[0].Resyncs != 0 {
		t.Errorf("v2: %d seq regressions, %d resyncs", r.Runs[0].SeqRegressions, r.Runs[0].Resyncs)
	}
	st := runJSON(t, "-dialect", "v2", "-mode", "storm", "-url", s.URL("/chat/v2storm"), "-clients", "50", "-hold", "0s").Storm
	if st.Connected != 50 {
		t.Errorf("v2 storm: %+v", st)
	}
}

// startFakeV2 serves a minimal v2 room: a snapshot for each connecting,
// and every 2 ms one patch that merges all the messages written since the
// last one, as docs/protocol.md allows. It exercises the tool's v2 reading
// (several adds per patch) whatever statecast's own merging does.
func startFakeV2(t *testing.T) string {
	var mu sync.Mutex
	conns := map[*websocket.Conn]bool{}
	var pending [][]byte
	var seq uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{v2Subprotocol}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		defer func() { mu.Lock(); delete(conns, ws); mu.Unlock() }()
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var f struct{ Event, ID, Message string }
			json.Unmarshal(b, &f)
			mu.Lock()
			seq++
			switch f.Event {
			case "connecting":
				snap := actions.EncodeSnapshot(seq, f.ID, "token", nil, nil)
				conns[ws] = true
				mu.Unlock()
				ws.Write(context.Background(), websocket.MessageText, snap)
				continue
			case "writeMessage":
				m := actions.EncodeMessage(actions.Message{ID: strconv.FormatUint(seq, 10), Message: f.Message, Seq: seq})
				pending = append(pending, actions.AppendAddOp(nil, "/messages/-", m))
			}
			mu.Unlock()
		}
	}))
	stop := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			var frame []byte
			if len(pending) > 0 {
				frame, pending = actions.EncodePatch(seq, pending), nil
			}
			to := make([]*websocket.Conn, 0, len(conns))
			for c := range conns {
				to = append(to, c)
			}
			mu.Unlock()
			for _, c := range to {
				if frame != nil {
					c.Write(context.Background(), websocket.MessageText, frame)
				}
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		flusher.Wait()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat"
}

func TestV2Merged(t *testing.T) {
	t.Parallel()
	url := startFakeV2(t)
	r := runJSON(t, "-dialect", "v2", "-url", url, "-clients", "20", "-writers", "4", "-messages", "200", "-inflight", "8")
	checkRun(t, r.Runs[0], 20, 200)
	if run := r.Runs[0]; run.Frames >= run.Deliveries || run.SeqRegressions != 0 {
		t.Errorf("%d frames for %d deliveries (want merged patches), %d seq regressions", run.Frames, run.Deliveries, run.SeqRegressions)
	}
}
