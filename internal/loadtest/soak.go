package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Soak mode (-mode soak) runs a steady mixed load for -minutes and samples
// the server every -sample, to show whether anything grows:
//
//   - -clients residents (v2) stay connected and read everything; -writers
//     of them post -rate messages per second in all; each resident drops
//     its socket now and then (every 30s or so) and comes back with a
//     resume (id, token, lastSeq);
//   - -churn users (v1 and v2, half each) connect, stay a second or two,
//     then reload the page (a new socket with the same id and token) or
//     leave for good and come back as someone new;
//   - -slow users stop reading for several seconds at a time, then catch
//     up; a socket the server closed with 1013 resumes.
//
// The users are spread over -rooms rooms (/chat/soak-0 …). Each sample
// holds the server's RSS and open file descriptors (from /proc with -pid,
// else from its process_* metrics), its goroutines, its sockets and its
// send-queue frames (from /metrics). Samples go to -out.csv and -out.json
// and are drawn in -out.svg.

// soakPeriods are the soak's rhythms; tests shorten them.
type soakPeriods struct {
	resume    time.Duration // a resident's socket life between resumes
	stay      time.Duration // a churning user's socket life
	slowPause time.Duration // how long a slow reader stops reading
	slowRead  time.Duration // how long it then reads
}

var defaultSoakPeriods = soakPeriods{resume: 30 * time.Second, stay: 1500 * time.Millisecond,
	slowPause: 8 * time.Second, slowRead: 4 * time.Second}

// soakRun is one soak in progress.
type soakRun struct {
	c       config
	periods soakPeriods
	v1, v2  *dialer
	counts  soakCounts
}

// runSoak runs the soak c describes and writes its files and summary.
func runSoak(ctx context.Context, c config, periods soakPeriods, stdout io.Writer) error {
	v2cfg, v1cfg := c, c
	v2cfg.dialect, v1cfg.dialect = "v2", "v1"
	s := &soakRun{c: c, periods: periods, v1: newDialer(v1cfg), v2: newDialer(v2cfg)}
	defer s.v1.close()
	defer s.v2.close()
	smp, err := newSampler(c, s.v2.client)
	if err != nil {
		return err
	}
	if _, err := smp.take(0); err != nil {
		return fmt.Errorf("sampling the server before the soak: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.soakFor)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() { s.resident(ctx, i, i < c.writers) })
	}
	for i := range c.churn {
		wg.Go(func() { s.churner(ctx, i) })
	}
	for i := range c.slow {
		wg.Go(func() { s.slowReader(ctx, i) })
	}
	samples := smp.every(ctx, start, c.sample)
	wg.Wait()
	if len(samples) == 0 {
		return fmt.Errorf("no sample of the server succeeded")
	}
	if err := writeSoakFiles(c.out, samples, &s.counts); err != nil {
		return err
	}
	printSoak(stdout, c, samples, &s.counts)
	return nil
}

// roomURL returns the URL of the i-th soak room.
func (s *soakRun) roomURL(i int) string {
	u, _ := url.Parse(s.c.url) // checked by parseArgs
	u.Path = "/chat/soak-" + strconv.Itoa(i%s.c.rooms)
	return u.String()
}

// resident stays connected, reading, writing if it is a writer, and
// resumes after each socket life.
func (s *soakRun) resident(ctx context.Context, i int, writer bool) {
	cl := &soakClient{d: s.v2, url: s.roomURL(i), name: "soak-r" + strconv.Itoa(i), counts: &s.counts}
	for ctx.Err() == nil {
		if err := cl.connect(ctx); err != nil {
			s.failed(ctx)
			continue
		}
		life, stop := context.WithTimeout(ctx, jitter(s.periods.resume))
		var wg sync.WaitGroup
		if writer {
			ws := cl.ws
			wg.Go(func() { s.write(life, ws, cl.name) })
		}
		cl.readUntil(life)
		stop()
		wg.Wait()
		cl.drop()
	}
}

// write posts this writer's share of -rate until ctx ends or the socket
// fails.
func (s *soakRun) write(ctx context.Context, ws *websocket.Conn, name string) {
	every := time.Duration(float64(s.c.writers) / s.c.rate * float64(time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	var buf []byte
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		buf = writeFrame(buf[:0], name, padText([]byte(name+"#"+strconv.Itoa(n)), s.c.size))
		if ws.Write(ctx, websocket.MessageText, buf) != nil {
			return
		}
		s.counts.Writes.Add(1)
	}
}

// churner connects, stays a little, then reloads or leaves, over and over.
func (s *soakRun) churner(ctx context.Context, i int) {
	d := s.v2
	if i%2 == 1 {
		d = s.v1
	}
	cl := &soakClient{d: d, v1: d == s.v1, url: s.roomURL(i), counts: &s.counts}
	for n := 0; ctx.Err() == nil; n++ {
		if cl.id == "" {
			cl.name = fmt.Sprintf("soak-c%d-%d", i, n)
		}
		if err := cl.connect(ctx); err != nil {
			s.failed(ctx)
			continue
		}
		ws := cl.ws
		t := time.AfterFunc(jitter(s.periods.stay), func() { ws.Close(websocket.StatusNormalClosure, "bye") })
		cl.readUntil(ctx)
		t.Stop()
		ws.CloseNow()
		cl.ws = nil
		if n%2 == 1 { // leave; the next one is someone new
			cl.leave()
			sleepCtx(ctx, jitter(s.periods.stay/2))
		} // else reload: the same id and token at once
	}
}

// slowReader reads in bursts: it stops reading for slowPause, then reads
// for slowRead; when the server closes it (1013), it resumes.
func (s *soakRun) slowReader(ctx context.Context, i int) {
	cl := &soakClient{d: s.v2, url: s.roomURL(i), name: "soak-s" + strconv.Itoa(i), counts: &s.counts}
	for ctx.Err() == nil {
		if err := cl.connect(ctx); err != nil {
			s.failed(ctx)
			continue
		}
		var paused atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				if paused.Load() {
					sleepCtx(ctx, 50*time.Millisecond)
					continue
				}
				if _, err := cl.read(ctx, cl.ws); err != nil {
					return
				}
			}
		}()
		for alive := true; alive; {
			paused.Store(true)
			alive = waitOr(ctx, done, jitter(s.periods.slowPause))
			paused.Store(false)
			alive = alive && waitOr(ctx, done, jitter(s.periods.slowRead))
		}
		cl.ws.CloseNow()
		<-done
		cl.ws = nil
	}
}

// waitOr waits d; it reports false if ctx ended or done closed first.
func waitOr(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
	case <-ctx.Done():
	}
	return false
}

// failed counts a failed connect and waits a little before the next.
func (s *soakRun) failed(ctx context.Context) {
	if ctx.Err() == nil {
		s.counts.Failures.Add(1)
		sleepCtx(ctx, jitter(time.Second))
	}
}
