package loadtest

import (
	"context"
	"sync"
	"time"
)

// runOnce starts the writers of run r, waits until every client received
// every message or ctx ends, and reports.
func runOnce(ctx context.Context, c config, clients []*fanClient, r *fanRun) *RunReport {
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
	rep := &RunReport{Loadgen: cpuSince(base.user, base.sys), WallSeconds: end.Sub(t0).Seconds()}
	switch outcome {
	case "timeout":
		rep.TimedOut = true
	case "stalled":
		rep.Stalled = true
	}
	var srv1 procSample
	if c.pid > 0 {
		srv1, _ = readProc(c.pid)
		rep.Server = &ServerReport{RSSPeakKB: base.peak.Stop()}
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
