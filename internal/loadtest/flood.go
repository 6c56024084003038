package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// FloodReport says what the flooding sockets of a run did: how many
// sockets they opened (each reopened once the server closed it), how many
// writes they sent, and how many handshakes the server refused.
type FloodReport struct {
	Sockets         int   `json:"sockets"`
	Connects        int64 `json:"connects"`
	Writes          int64 `json:"writes"`
	RefusedConnects int64 `json:"refused_connects"`
}

// flooder is -flood N: sockets from this machine's address (the same as
// the clients') that post as fast as they can in a room of their own,
// read and discard whatever comes back, and come straight back when the
// server closes them (1008 for abuse): a hostile user behind the same NAT
// as everyone else. Its writes are not counted as deliveries.
type flooder struct {
	d        *dialer
	url      string
	rep      FloodReport
	connects atomic.Int64
	writes   atomic.Int64
	refused  atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startFlood starts n flooding sockets; stop ends them and reports.
func startFlood(ctx context.Context, d *dialer, roomURL string, n int) *flooder {
	ctx, cancel := context.WithCancel(ctx)
	f := &flooder{d: d, url: floodURL(roomURL), rep: FloodReport{Sockets: n}, cancel: cancel}
	for i := range n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.flood(ctx, fmt.Sprint("flood", i))
		}()
	}
	return f
}

// floodURL is the flooders' room: the clients' room with -flood appended.
func floodURL(roomURL string) string {
	if i := strings.IndexAny(roomURL, "?#"); i >= 0 {
		roomURL = roomURL[:i]
	}
	return strings.TrimSuffix(roomURL, "/") + "-flood"
}

func (f *flooder) flood(ctx context.Context, id string) {
	msg, _ := json.Marshal(map[string]string{"event": "writeMessage", "message": "flood"})
	for ctx.Err() == nil {
		ws, _, _, err := f.d.join(ctx, f.url, id, id, nil)
		if err != nil {
			f.refused.Add(1)
			continue
		}
		f.connects.Add(1)
		done := make(chan struct{})
		go func() { // read and discard, so that the server never waits on us
			defer close(done)
			var buf []byte
			for err == nil {
				buf, err = readFrame(ctx, ws, buf)
			}
		}()
		for ctx.Err() == nil {
			if ws.Write(ctx, websocket.MessageText, msg) != nil {
				break
			}
			f.writes.Add(1)
		}
		ws.CloseNow()
		<-done
	}
}

func (f *flooder) stop() FloodReport {
	f.cancel()
	f.wg.Wait()
	f.rep.Connects, f.rep.Writes, f.rep.RefusedConnects = f.connects.Load(), f.writes.Load(), f.refused.Load()
	return f.rep
}
