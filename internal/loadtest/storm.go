package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// runStorm opens c.clients connections, at most c.concurrency at once,
// each connecting until the server's connected (v1), snapshot (v2) or
// subscribe reply (Centrifugo); then holds them for c.hold, counting the
// ones the server drops meanwhile, and closes them.
func runStorm(ctx context.Context, c config, d *dialer, rep *Report) error {
	s := &StormReport{Attempted: c.clients, Failures: map[string]int{}}
	rep.Storm = s
	prefix := "storm" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)

	base := takeBaseline(c.pid)

	conns := make([]*websocket.Conn, c.clients)
	lat := make([]int64, c.clients)
	var frames, lost atomic.Int64
	var closing atomic.Bool
	var failMu sync.Mutex
	var lastDone atomic.Int64
	var drains sync.WaitGroup
	defer func() {
		closing.Store(true)
		closeAll(conns, c.concurrency)
		drains.Wait()
	}()
	bufs := sync.Pool{New: func() any { return new([]byte) }}
	t0 := time.Now()
	forEachConcurrently(ctx, c.clients, c.concurrency, func(i int) error {
		start := time.Now()
		bp := bufs.Get().(*[]byte)
		ws, _, buf, err := d.join(ctx, roomURL(c.url, i%c.rooms, c.rooms), fmt.Sprintf("%s-%d", prefix, i), "s"+strconv.Itoa(i), (*bp)[:0])
		if cap(buf) <= 64<<10 {
			*bp = buf
			bufs.Put(bp)
		}
		if err != nil {
			failMu.Lock()
			s.Failures[failureKind(err)]++
			failMu.Unlock()
			return nil
		}
		now := time.Now()
		lat[i] = int64(now.Sub(start))
		for {
			last := lastDone.Load()
			if now.UnixNano() <= last || lastDone.CompareAndSwap(last, now.UnixNano()) {
				break
			}
		}
		conns[i] = ws
		drains.Go(func() {
			drain(ws, &frames, d.centrifugo)
			if !closing.Load() {
				lost.Add(1)
			}
		})
		return nil
	})
	for i, ws := range conns {
		if ws != nil {
			s.Connected++
		} else {
			lat[i] = -1
		}
	}
	s.Failed = c.clients - s.Connected
	if s.Connected > 0 {
		s.Seconds = time.Duration(lastDone.Load() - t0.UnixNano()).Seconds()
		s.HandshakesPerSec = float64(s.Connected) / max(s.Seconds, 1e-9)
	}
	ok := lat[:0]
	for _, l := range lat {
		if l >= 0 {
			ok = append(ok, l)
		}
	}
	s.Latency = percentiles(ok)

	// Let the room settle: every joined event delivered.
	settleStart := time.Now()
	lastN, lastChange := int64(-1), time.Now()
	for time.Since(settleStart) < 60*time.Second && ctx.Err() == nil {
		if n := frames.Load(); n != lastN {
			lastN, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= c.quiet {
			break
		}
		time.Sleep(c.quiet / 10)
	}
	s.SettleSeconds = lastChange.Sub(settleStart).Seconds()
	var srv1, srv2 procSample
	if c.pid > 0 {
		srv1, _ = readProc(c.pid)
	}
	holdStart := time.Now()
	select {
	case <-time.After(c.hold):
	case <-ctx.Done():
	}
	s.HoldSeconds = time.Since(holdStart).Seconds()
	s.Frames = frames.Load()
	s.Lost = lost.Load()
	s.Loadgen = cpuSince(base.user, base.sys)
	if c.pid > 0 {
		srv2, _ = readProc(c.pid)
		sv := &StormServer{RSSPeakKB: base.peak.Stop()}
		if base.serverErr != nil {
			sv.Error = base.serverErr.Error()
		} else {
			sv.CPU = (srv2.cpu - base.server.cpu).Seconds()
			sv.RSSBeforeKB, sv.RSSAfterKB, sv.RSSAfterHoldKB = base.server.rssKB, srv1.rssKB, srv2.rssKB
			n := float64(max(s.Connected, 1))
			sv.RSSPerConnKB = float64(srv1.rssKB-base.server.rssKB) / n
			sv.RSSPerConnHoldKB = float64(srv2.rssKB-base.server.rssKB) / n
		}
		s.Server = sv
	}
	if len(s.Failures) == 0 {
		s.Failures = nil
	}
	var serverCPU float64
	if s.Server != nil {
		serverCPU = s.Server.CPU
	}
	var warn string
	s.OtherCPU, warn = otherLoad(base.machine, s.Loadgen.Total, serverCPU, time.Since(t0).Seconds())
	if warn != "" {
		rep.Warnings = append(rep.Warnings, warn)
	}
	if ctx.Err() != nil {
		rep.Warnings = append(rep.Warnings, "the storm was cut short by -timeout")
	}
	return nil
}

// drain reads and discards frames until the socket ends, counting all but
// pings. A Centrifugo client answers the server's pings, without which
// Centrifugo drops it after half a minute or so.
func drain(ws *websocket.Conn, frames *atomic.Int64, centrifugo bool) {
	var buf []byte
	for {
		if centrifugo {
			var err error
			if buf, err = readFrame(context.Background(), ws, buf); err != nil {
				return
			}
			if answerCentrifugoPings(ws, buf) {
				continue
			}
		} else {
			_, r, err := ws.Reader(context.Background())
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
		frames.Add(1)
	}
}

// failureKind shortens a connect error to a kind worth counting: without
// addresses and ports, which differ per connection.
func failureKind(err error) string {
	msg := err.Error()
	for _, known := range []string{"connection refused", "connection reset", "too many open files",
		"cannot assign requested address", "i/o timeout", "context deadline exceeded", "EOF", "connecting refused"} {
		if i := strings.Index(msg, known); i >= 0 {
			if known == "connecting refused" {
				return msg[i:]
			}
			return known
		}
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

// roomURL is the URL of room k of n: base itself when n is 1, else
// /chat/bench-k for /chat and /chat/X-k for /chat/X; for Centrifugo (a
// URL with ?channel=X), the channel X-k.
func roomURL(base string, k, n int) string {
	if n <= 1 {
		return base
	}
	u, _ := url.Parse(base)
	if q := u.Query(); q.Has("channel") {
		q.Set("channel", q.Get("channel")+"-"+strconv.Itoa(k))
		u.RawQuery = q.Encode()
		return u.String()
	}
	p := strings.TrimSuffix(u.Path, "/")
	if strings.Count(p, "/") <= 1 {
		u.Path = p + "/bench-" + strconv.Itoa(k)
	} else {
		u.Path = p + "-" + strconv.Itoa(k)
	}
	return u.String()
}
