package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// runFanout runs the fan-out, history and slow-reader scenarios.
func runFanout(ctx context.Context, c config, d *dialer, rep *Report) error {
	rep.Writers, rep.Messages, rep.Rate, rep.Inflight, rep.Size = c.writers, c.messages, c.rate, c.inflight, c.size
	prefix := "bench" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if c.historyFill > 0 {
		f, err := runFill(ctx, c, d, prefix)
		if err != nil {
			return fmt.Errorf("history fill: %w", err)
		}
		rep.Fill = f
	}

	// Connect every client; each starts reading once connected.
	start := time.Now()
	clients := make([]*fanClient, c.clients)
	var closing atomic.Bool
	var readers sync.WaitGroup
	defer func() {
		closing.Store(true)
		conns := make([]*websocket.Conn, 0, len(clients))
		for _, cl := range clients {
			if cl != nil {
				conns = append(conns, cl.ws)
			}
		}
		closeAll(conns, c.concurrency)
		readers.Wait()
	}()
	err := forEachConcurrently(ctx, c.clients, c.concurrency, func(i int) error {
		cl := &fanClient{idx: i, name: fmt.Sprintf("b%d", i), centrifugo: d.centrifugo}
		ws, seq, buf, err := d.join(ctx, c.url, fmt.Sprintf("%s-%d", prefix, i), cl.name, nil)
		if err != nil {
			return err
		}
		cl.ws, cl.seq, cl.buf = ws, seq, buf
		clients[i] = cl
		readers.Go(func() { cl.readLoop(&closing) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("connecting the clients: %w", err)
	}
	connected := time.Since(start)
	settle := waitQuiet(ctx, c.quiet, clients)
	rep.Connect = &ConnectReport{Seconds: connected.Seconds(), SettleSeconds: settle.Seconds()}

	runs := []string{""}
	switch {
	case c.slow > 0:
		runs = []string{"without slow readers", fmt.Sprintf("with %d slow reader(s)", c.slow)}
	case c.flood > 0:
		runs = []string{"without a flood", fmt.Sprintf("during a flood from %d socket(s) of the same address", c.flood)}
	}
	var slow []*websocket.Conn
	defer func() {
		for _, ws := range slow {
			ws.CloseNow()
		}
	}()
	for k, name := range runs {
		if k == 1 {
			// The slow readers connect, read their reply, and stop reading.
			for i := range c.slow {
				ws, _, _, err := d.join(ctx, c.url, fmt.Sprintf("%s-slow%d", prefix, i), fmt.Sprintf("slow%d", i), nil)
				if err != nil {
					return fmt.Errorf("connecting a slow reader: %w", err)
				}
				slow = append(slow, ws)
			}
			waitQuiet(ctx, c.quiet, clients)
		}
		var flood *flooder
		if k == 1 && c.flood > 0 {
			flood = startFlood(ctx, d, c.url, c.flood)
		}
		metrics := metricsURL(c.url)
		logBefore, haveLog := scrapeLog(ctx, metrics)
		run := runOnce(ctx, c, clients, newFanRun(c, k*c.writers))
		if logAfter, ok := scrapeLog(ctx, metrics); ok && haveLog {
			run.Log = logReport(logBefore, logAfter, run.WallSeconds)
		}
		if flood != nil {
			fr := flood.stop()
			run.Flood = &fr
		}
		run.Name = name
		rep.Runs = append(rep.Runs, run)
		if run.warning != "" {
			rep.Warnings = append(rep.Warnings, "run "+strconv.Itoa(k+1)+": "+run.warning)
		}
		if run.Errors["rate_limited"] > 0 {
			rep.Warnings = append(rep.Warnings, "the server refused writes as rate_limited: for statecast, serve with -rate 0 -rate-per-address 0")
		}
		if run.TimedOut {
			break
		}
	}
	for _, ws := range slow {
		rep.Runs[len(rep.Runs)-1].SlowReaders = append(rep.Runs[len(rep.Runs)-1].SlowReaders, drainSlow(ws))
	}
	return nil
}

// waitQuiet waits until no client has received a frame for quiet (the
// joined events of a connect storm are drained), at most 30 s, and
// returns how long it waited.
func waitQuiet(ctx context.Context, quiet time.Duration, clients []*fanClient) time.Duration {
	start := time.Now()
	last, lastChange := int64(-1), time.Now()
	for time.Since(start) < 30*time.Second && ctx.Err() == nil {
		var n int64
		for _, cl := range clients {
			n += cl.frames.Load()
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return lastChange.Sub(start)
		}
		time.Sleep(quiet / 10)
	}
	return time.Since(start)
}
