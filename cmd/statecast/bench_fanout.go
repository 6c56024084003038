package main

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
func runFanout(ctx context.Context, c benchConfig, d *benchDialer, rep *benchReport) error {
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
		cl := &fanClient{idx: i, name: fmt.Sprintf("b%d", i)}
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
	rep.Connect = &connectReport{Seconds: connected.Seconds(), SettleSeconds: settle.Seconds()}

	runs := []string{""}
	if c.slow > 0 {
		runs = []string{"without slow readers", fmt.Sprintf("with %d slow reader(s)", c.slow)}
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
		run := runOnce(ctx, c, clients, newFanRun(c, k*c.writers))
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

// runOnce starts the writers of run r, waits until every client received
// every message or ctx ends, and reports.
func runOnce(ctx context.Context, c benchConfig, clients []*fanClient, r *fanRun) *runReport {
	for _, cl := range clients {
		cl.mu.Lock()
		cl.run = r
		cl.mu.Unlock()
	}
	var frames0 int64
	for _, cl := range clients {
		frames0 += cl.frames.Load()
	}
	base := takeBaseline(c.pid)
	t0 := time.Now()
	wctx, stopWriters := context.WithCancel(ctx)
	var writers sync.WaitGroup
	var writeErr sync.Map
	for w := range len(r.offset) - 1 {
		writers.Go(func() {
			if err := r.write(wctx, c, clients[w], w, t0); err != nil {
				writeErr.Store(w, err)
			}
		})
	}
	outcome := waitRun(ctx, c.stall, r, clients)
	end := time.Now()
	stopWriters()
	writers.Wait()
	rep := &runReport{Loadgen: cpuSince(base.user, base.sys), WallSeconds: end.Sub(t0).Seconds()}
	switch outcome {
	case "timeout":
		rep.TimedOut = true
	case "stalled":
		rep.Stalled = true
	}
	var srv1 procSample
	if c.pid > 0 {
		srv1, _ = readProc(c.pid)
		rep.Server = &serverReport{RSSPeakKB: base.peak.Stop()}
	}
	// Fence the readers off this run, then sum it up.
	for _, cl := range clients {
		cl.mu.Lock()
		cl.run = nil
		cl.mu.Unlock()
		rep.Frames += cl.frames.Load()
	}
	rep.Frames -= frames0
	var lat []int64
	lastAt := int64(0)
	for i := range r.accs {
		a := &r.accs[i]
		rep.Deliveries += a.unique
		rep.Duplicates += a.dups
		rep.Reordered += a.reordered
		rep.Foreign += a.foreign
		lastAt = max(lastAt, a.lastAt)
		lat = append(lat, a.lat...)
	}
	rep.Expected = int64(len(clients)) * int64(r.total)
	rep.Lost = rep.Expected - rep.Deliveries
	elapsed := end.Sub(t0)
	if lastAt > 0 {
		elapsed = time.Duration(lastAt - t0.UnixNano())
	}
	rep.Seconds = elapsed.Seconds()
	rep.DeliveriesPerSec = float64(rep.Deliveries) / max(rep.Seconds, 1e-9)
	rep.Latency = percentiles(lat)
	rep.Rejected, rep.SlowPathFrames = r.rejected.Load(), r.slowPath.Load()
	rep.SeqRegressions, rep.Resyncs, rep.Disconnected = r.seqRegress.Load(), r.resyncs.Load(), r.lostSockets.Load()
	writeErr.Range(func(_, err any) bool {
		r.addError("write: " + err.(error).Error())
		return true
	})
	if len(r.errors) > 0 {
		rep.Errors = r.errors
	}
	var serverCPU float64
	if c.pid > 0 && base.serverErr == nil {
		serverCPU = (srv1.cpu - base.server.cpu).Seconds()
	}
	rep.OtherCPU, rep.warning = otherLoad(base.machine, rep.Loadgen.Total, serverCPU, rep.WallSeconds)
	if s := rep.Server; s != nil {
		if base.serverErr != nil {
			s.Error = base.serverErr.Error()
		} else {
			s.CPU = (srv1.cpu - base.server.cpu).Seconds()
			s.RSSBeforeKB, s.RSSAfterKB = base.server.rssKB, srv1.rssKB
			s.CPUPerDeliveryUs = s.CPU * 1e6 / float64(max(rep.Deliveries, 1))
			s.CPUPerMessageUs = s.CPU * 1e6 / float64(r.total)
		}
	}
	return rep
}

// waitRun waits until every client received every message of r
// ("done"), ctx ends ("timeout"), or no client received any frame for
// stall ("stalled": messages were lost, the writers wait for them).
func waitRun(ctx context.Context, stall time.Duration, r *fanRun, clients []*fanClient) string {
	tick := time.NewTicker(min(stall/4, time.Second))
	defer tick.Stop()
	last, lastChange := int64(-1), time.Now()
	for {
		select {
		case <-r.done:
			return "done"
		case <-ctx.Done():
			return "timeout"
		case <-tick.C:
		}
		var n int64
		for _, cl := range clients {
			n += cl.frames.Load()
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= stall {
			return "stalled"
		}
	}
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

// forEachConcurrently calls fn(0) … fn(n-1), at most limit at once, and
// returns the first error (the remaining calls still run).
func forEachConcurrently(ctx context.Context, n, limit int, fn func(i int) error) error {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}
