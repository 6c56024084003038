package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// fanClient is one connected fan-out client and its reader.
type fanClient struct {
	idx  int
	name string
	ws   *websocket.Conn

	frames atomic.Int64 // every data frame read, for settling and totals

	// mu guards run and the accounting of run's client entry; the reader
	// holds it while it handles a frame, so that swapping run fences off
	// the previous run's numbers.
	mu  sync.Mutex
	run *fanRun

	// Reader state; only the reader touches it.
	buf   []byte
	texts [][]byte
	seq   uint64 // v2: seq of the last snapshot or patch
}

// fanRun is one run of the fan-out: what every client must receive.
type fanRun struct {
	wBase   int   // writer w of this run marks its messages w<wBase+w>
	offset  []int // writer w's messages are numbered offset[w] … offset[w+1]-1
	total   int   // messages in the run
	accs    []clientAcc
	slots   []chan struct{} // per writer: one token per message in flight
	pending atomic.Int64    // clients that have not received every message
	done    chan struct{}   // closed when pending reaches 0

	rejected, slowPath, seqRegress, resyncs, lostSockets atomic.Int64
	errMu                                                sync.Mutex
	errors                                               map[string]int64
}

// clientAcc is one client's receipts in one run; its reader owns it
// (under fanClient.mu).
type clientAcc struct {
	seen                             []uint64 // bit per message
	last                             []int    // per writer: highest message seen
	lat                              []int64  // ns from send to receipt, per new message
	unique, dups, reordered, foreign int64
	lastAt                           int64 // unix ns of the last new message
}

func newFanRun(c benchConfig, wBase int) *fanRun {
	r := &fanRun{wBase: wBase, total: c.messages, done: make(chan struct{}), errors: map[string]int64{}}
	r.offset = make([]int, c.writers+1)
	for w := range c.writers {
		n := c.messages / c.writers
		if w < c.messages%c.writers {
			n++
		}
		r.offset[w+1] = r.offset[w] + n
	}
	r.accs = make([]clientAcc, c.clients)
	for i := range r.accs {
		r.accs[i] = clientAcc{
			seen: make([]uint64, (c.messages+63)/64),
			last: make([]int, c.writers),
			lat:  make([]int64, 0, c.messages),
		}
		for w := range r.accs[i].last {
			r.accs[i].last[w] = -1
		}
	}
	r.pending.Store(int64(c.clients))
	if c.inflight > 0 {
		r.slots = make([]chan struct{}, c.writers)
		for w := range r.slots {
			r.slots[w] = make(chan struct{}, c.inflight)
		}
	}
	return r
}

func (r *fanRun) addError(kind string) {
	r.errMu.Lock()
	r.errors[kind]++
	r.errMu.Unlock()
}

// release frees one window slot of writer w: its message was delivered to
// it, or refused.
func (r *fanRun) release(w int) {
	if r.slots != nil {
		select {
		case <-r.slots[w]:
		default:
		}
	}
}

// readLoop reads frames until the socket ends; closing reports whether
// the bench itself is closing the sockets.
func (cl *fanClient) readLoop(closing *atomic.Bool) {
	for {
		var err error
		cl.buf, err = readFrame(context.Background(), cl.ws, cl.buf)
		if err != nil {
			if !closing.Load() {
				cl.mu.Lock()
				if r := cl.run; r != nil {
					r.lostSockets.Add(1)
					r.addError("socket ended: " + closeReason(err))
				}
				cl.mu.Unlock()
			}
			return
		}
		cl.frames.Add(1)
		now := time.Now().UnixNano()
		cl.mu.Lock()
		cl.handle(cl.run, cl.buf, now)
		cl.mu.Unlock()
	}
}

// closeReason describes how a read ended: the close code, if any.
func closeReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return strconv.Itoa(int(code))
	}
	return "no close frame"
}

func (cl *fanClient) handle(r *fanRun, frame []byte, now int64) {
	ev, ok := frameEvent(frame)
	slow := !ok
	if !ok {
		if ev, ok = decodeEvent(frame); !ok {
			return // not JSON (the seed's "success connected")
		}
	}
	switch string(ev) {
	case "messageWritten":
		text, ok := lastMessageText(frame)
		if !ok {
			slow = true
			text, ok = decodeLastText(frame)
		}
		if ok && r != nil {
			cl.deliver(r, text, now)
		}
	case "patch":
		var seq uint64
		cl.texts, seq, ok = patchMessages(frame, cl.texts[:0])
		if r != nil {
			if seq <= cl.seq {
				r.seqRegress.Add(1)
			}
			for _, t := range cl.texts {
				cl.deliver(r, t, now)
			}
		}
		cl.seq = max(cl.seq, seq)
	case "snapshot":
		if r != nil {
			r.resyncs.Add(1)
		}
	case "error":
		e := decodeError(frame)
		if r != nil {
			r.addError(e.Code)
			if e.Ref == "writeMessage" && cl.idx < len(r.offset)-1 {
				r.rejected.Add(1)
				r.release(cl.idx)
			}
		}
	}
	if slow && r != nil {
		r.slowPath.Add(1)
	}
}

// decodeLastText is the slow path of lastMessageText: it decodes the
// whole messagesList.
func decodeLastText(frame []byte) ([]byte, bool) {
	var f struct {
		MessagesList []struct {
			Message string `json:"message"`
		} `json:"messagesList"`
	}
	if json.Unmarshal(frame, &f) != nil || len(f.MessagesList) == 0 {
		return nil, false
	}
	return []byte(f.MessagesList[len(f.MessagesList)-1].Message), true
}

// deliver counts the receipt of the message text at now.
func (cl *fanClient) deliver(r *fanRun, text []byte, now int64) {
	a := &r.accs[cl.idx]
	w, seq, ns, ok := parseMarker(text)
	w -= r.wBase
	if !ok || w < 0 || w >= len(r.offset)-1 || seq >= r.offset[w+1]-r.offset[w] {
		a.foreign++ // fill messages, another run's, another program's
		return
	}
	bit := r.offset[w] + seq
	if a.seen[bit/64]&(1<<(bit%64)) != 0 {
		a.dups++
		return
	}
	a.seen[bit/64] |= 1 << (bit % 64)
	a.unique++
	a.lat = append(a.lat, now-ns)
	if seq < a.last[w] {
		a.reordered++
	}
	a.last[w] = max(a.last[w], seq)
	a.lastAt = now
	if w == cl.idx {
		r.release(w)
	}
	if a.unique == int64(r.total) && r.pending.Add(-1) == 0 {
		close(r.done)
	}
}

// write posts writer w's messages of run r from client cl.
func (r *fanRun) write(ctx context.Context, c benchConfig, cl *fanClient, w int, t0 time.Time) error {
	var frame, text []byte
	for seq := range r.offset[w+1] - r.offset[w] {
		if r.slots != nil {
			select {
			case r.slots[w] <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		if c.rate > 0 {
			at := t0.Add(time.Duration(float64(seq*c.writers+w) / c.rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil
				}
			}
		}
		text = padText(appendMarker(text[:0], r.wBase+w, seq, time.Now().UnixNano()), c.size)
		frame = writeFrame(frame[:0], cl.name, text)
		if err := cl.ws.Write(ctx, websocket.MessageText, frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

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
	var srv0 procSample
	var srvErr error
	var peak *rssPeak
	if c.pid > 0 {
		srv0, srvErr = readProc(c.pid)
		peak = watchRSS(c.pid, 100*time.Millisecond)
	}
	u0, s0 := selfCPU()
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
	rep := &runReport{Loadgen: cpuSince(u0, s0), WallSeconds: end.Sub(t0).Seconds()}
	switch outcome {
	case "timeout":
		rep.TimedOut = true
	case "stalled":
		rep.Stalled = true
	}
	var srv1 procSample
	if c.pid > 0 {
		srv1, _ = readProc(c.pid)
		rep.Server = &serverReport{RSSPeakKB: peak.Stop()}
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
	if s := rep.Server; s != nil {
		if srvErr != nil {
			s.Error = srvErr.Error()
		} else {
			s.CPU = (srv1.cpu - srv0.cpu).Seconds()
			s.RSSBeforeKB, s.RSSAfterKB = srv0.rssKB, srv1.rssKB
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

// runFill posts c.historyFill messages from one client, a window of them
// at a time, and waits until each was delivered back to it.
func runFill(ctx context.Context, c benchConfig, d *benchDialer, prefix string) (*fillReport, error) {
	const window = 32
	ws, _, buf, err := d.join(ctx, c.url, prefix+"-fill", "fill", nil)
	if err != nil {
		return nil, err
	}
	slots := make(chan struct{}, window)
	var delivered atomic.Int64
	done := make(chan struct{})
	readDone := make(chan struct{})
	var readErr error // set before readDone closes
	ended := func() error {
		return fmt.Errorf("%d of %d messages delivered, then the socket ended: %s", delivered.Load(), c.historyFill, closeReason(readErr))
	}
	defer func() {
		ws.CloseNow()
		<-readDone
	}()
	go func() {
		defer close(readDone)
		var texts [][]byte
		for {
			var err error
			if buf, err = readFrame(context.Background(), ws, buf); err != nil {
				readErr = err
				return
			}
			texts = texts[:0]
			if t, ok := lastMessageText(buf); ok {
				texts = append(texts, t)
			} else if t, ok := decodeLastText(buf); ok {
				texts = append(texts, t)
			} else {
				texts, _, _ = patchMessages(buf, texts)
			}
			for _, t := range texts {
				if w, _, _, ok := parseMarker(t); ok && w == -1 {
					select {
					case <-slots:
					default:
					}
					if delivered.Add(1) == int64(c.historyFill) {
						close(done)
					}
				}
			}
		}
	}()
	start := time.Now()
	var frame, text []byte
	for seq := range c.historyFill {
		select {
		case slots <- struct{}{}:
		case <-readDone:
			return nil, ended()
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d messages delivered: %w", delivered.Load(), c.historyFill, ctx.Err())
		}
		text = padText(appendMarker(text[:0], -1, seq, time.Now().UnixNano()), c.size)
		if err := ws.Write(ctx, websocket.MessageText, writeFrame(frame[:0], "fill", text)); err != nil {
			return nil, err
		}
	}
	select {
	case <-done:
	case <-readDone:
		return nil, ended()
	case <-ctx.Done():
		return nil, fmt.Errorf("%d of %d messages delivered: %w", delivered.Load(), c.historyFill, ctx.Err())
	}
	elapsed := time.Since(start)
	ws.Close(websocket.StatusNormalClosure, "")
	return &fillReport{Messages: c.historyFill, Delivered: int(delivered.Load()), Seconds: elapsed.Seconds(),
		PerSecond: float64(c.historyFill) / elapsed.Seconds()}, nil
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

// drainSlow resumes reading a client that stopped reading, until the
// socket ends or 12 s passed (longer than statecast's 10 s write
// timeout), and tells how the server treated it.
func drainSlow(ws *websocket.Conn) slowReport {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	defer ws.CloseNow()
	var buf []byte
	var err error
	n := 0
	for {
		if buf, err = readFrame(ctx, ws, buf); err != nil {
			break
		}
		n++
	}
	code := int(websocket.CloseStatus(err))
	sr := slowReport{CloseCode: code, Frames: n}
	switch {
	case code == 1013:
		sr.Outcome = "closed by the server with 1013 (try again later)"
	case code != -1:
		sr.Outcome = fmt.Sprintf("closed by the server with %d", code)
	case ctx.Err() != nil:
		sr.Outcome = "still open: the server kept it"
	default:
		sr.Outcome = "dropped without a close frame: " + err.Error()
	}
	return sr
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
