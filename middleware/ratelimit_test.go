package middleware

// An internal test: eviction cannot be seen from outside (a forgotten
// address behaves exactly like a kept one), so these tests look at the maps.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"golang.org/x/time/rate"
)

// rlHarness runs a RateLimit on a fake clock into a counting terminal.
type rlHarness struct {
	t        *testing.T
	l        *rateLimiter
	mu       sync.Mutex
	now      time.Time
	dispatch func(context.Context, *actions.Action) error
	passed   atomic.Int64
}

func newRLHarness(t *testing.T, o RateLimitOptions) *rlHarness {
	t.Helper()
	h := &rlHarness{t: t, now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	o.Now = func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
	l, err := newRateLimiter(o)
	if err != nil {
		t.Fatal(err)
	}
	h.l = l
	h.dispatch = l.middleware(func(context.Context, *actions.Action) error { h.passed.Add(1); return nil })
	return h
}

func (h *rlHarness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// from dispatches an action of typ from socket session at address remote.
func (h *rlHarness) from(session, remote, typ string) *actions.Error {
	ctx := actions.WithSource(context.Background(), actions.Source{Session: session, Remote: remote})
	if err := h.dispatch(ctx, &actions.Action{Type: typ, Room: "r", Session: session}); err != nil {
		var e *actions.Error
		if !errors.As(err, &e) {
			h.t.Fatalf("rejection is not an *actions.Error: %v", err)
		}
		return e
	}
	return nil
}

func (h *rlHarness) write(session, remote string) *actions.Error {
	return h.from(session, remote, actions.TypeWriteMessage)
}

// mustPass fails unless n writes from session at remote all pass.
func (h *rlHarness) mustPass(n int, session, remote string) {
	h.t.Helper()
	for i := range n {
		if e := h.write(session, remote); e != nil {
			h.t.Fatalf("write %d of %s from %s refused: %v", i+1, session, remote, e)
		}
	}
}

// mustRefuse fails unless a write from session at remote is refused with
// rate_limited, no ref, no close, and a message that says retry in wait.
func (h *rlHarness) mustRefuse(session, remote string, wait time.Duration) {
	h.t.Helper()
	e := h.write(session, remote)
	switch {
	case e == nil:
		h.t.Fatalf("write of %s from %s passed, want rate_limited", session, remote)
	case e.Code != actions.CodeRateLimited || e.Ref != "" || e.Close != 0:
		h.t.Fatalf("refusal = %+v, want code rate_limited, no ref, no close", e)
	case !strings.Contains(e.Message, fmt.Sprintf("retry in %v", wait)):
		h.t.Fatalf("message %q does not say retry in %v", e.Message, wait)
	case e.RetryAfter != wait:
		h.t.Fatalf("RetryAfter = %v, want %v", e.RetryAfter, wait)
	}
}

func TestRateLimitBurstThenRefusalThenRefill(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 10, SessionBurst: 3, PerAddress: rate.Inf})
	h.mustPass(3, "s1", "10.0.0.1")
	h.mustRefuse("s1", "10.0.0.1", 100*time.Millisecond)
	h.mustRefuse("s1", "10.0.0.1", 100*time.Millisecond) // a refusal takes no token
	h.advance(60 * time.Millisecond)
	h.mustRefuse("s1", "10.0.0.1", 40*time.Millisecond)
	h.advance(40 * time.Millisecond)
	h.mustPass(1, "s1", "10.0.0.1")
	h.mustRefuse("s1", "10.0.0.1", 100*time.Millisecond)
	h.mustPass(3, "s2", "10.0.0.1") // another socket has its own bucket
	h.advance(time.Hour)            // refills up to the burst, no more
	h.mustPass(3, "s1", "10.0.0.1")
	h.mustRefuse("s1", "10.0.0.1", 100*time.Millisecond)
	if got := h.passed.Load(); got != 10 {
		t.Fatalf("%d actions passed, want 10", got)
	}
}

// TestRateLimitDefaults: 10/s and bursts of 20 per socket; no limit per
// address, so the sockets of one crowded NAT are each limited alone.
func TestRateLimitDefaults(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{})
	h.mustPass(20, "s1", "10.0.0.1")
	h.mustRefuse("s1", "10.0.0.1", 100*time.Millisecond)
	for i := range 100 {
		h.mustPass(20, fmt.Sprint("t", i), "10.0.0.1")
	}
	if len(h.l.addrs) != 0 {
		t.Fatalf("no address limit, yet %d addresses kept", len(h.l.addrs))
	}
}

// TestRateLimitAddressNeverRefusesConnects: the address's bucket counts
// writes only; a connect passes however many share the address.
func TestRateLimitAddressNeverRefusesConnects(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Inf, PerAddress: 1, AddressBurst: 1})
	h.mustPass(1, "s0", "192.0.2.7")
	h.mustRefuse("s1", "192.0.2.7", time.Second)
	for i := range 1000 {
		if e := h.from(fmt.Sprint("c", i), "192.0.2.7", actions.TypeConnect); e != nil {
			t.Fatalf("connect %d refused: %v", i, e)
		}
	}
}

func TestRateLimitPerAddressIsShared(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Inf, PerAddress: 5, AddressBurst: 4})
	for i := range 4 {
		h.mustPass(1, fmt.Sprint("s", i), "192.0.2.7")
	}
	h.mustRefuse("s4", "192.0.2.7", 200*time.Millisecond)
	h.mustRefuse("s0", "192.0.2.7", 200*time.Millisecond)
	h.mustPass(4, "s5", "192.0.2.8") // another address
	h.advance(200 * time.Millisecond)
	h.mustPass(1, "s4", "192.0.2.7")
	h.mustRefuse("s3", "192.0.2.7", 200*time.Millisecond)
}

func TestRateLimitAddressKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"one IPv4 address", "192.0.2.1", "192.0.2.1", true},
		{"two IPv4 addresses", "192.0.2.1", "192.0.2.2", false},
		{"IPv4-mapped IPv6 is IPv4", "192.0.2.1", "::ffff:192.0.2.1", true},
		{"one IPv6 /64", "2001:db8:0:1::1", "2001:db8:0:1:ffff::2", true},
		{"zones do not matter", "fe80::1%eth0", "fe80::2%eth1", true},
		{"two IPv6 /64s", "2001:db8:0:1::1", "2001:db8:0:2::1", false},
		{"not an address", "unix", "unix", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newRLHarness(t, RateLimitOptions{PerSession: rate.Inf, PerAddress: 1, AddressBurst: 1})
			h.mustPass(1, "s1", tt.a)
			if refused := h.write("s2", tt.b) != nil; refused != tt.same {
				t.Fatalf("second address refused = %v, want %v", refused, tt.same)
			}
		})
	}
}

func TestRateLimitRefusalTakesNoToken(t *testing.T) {
	t.Parallel()
	// The socket's bucket refuses: the address keeps its token for others.
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Every(time.Hour), SessionBurst: 1, PerAddress: 1, AddressBurst: 2})
	h.mustPass(1, "a", "192.0.2.1")
	h.mustRefuse("a", "192.0.2.1", time.Hour)
	h.mustPass(1, "b", "192.0.2.1")
	// The address refuses: the socket keeps its token (it would take an
	// hour to come back).
	h.mustRefuse("c", "192.0.2.1", time.Second)
	h.advance(time.Second)
	h.mustPass(1, "c", "192.0.2.1")
}

func TestRateLimitLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 1, PerAddress: 1, AddressBurst: 1})
	h.mustPass(1, "s1", "192.0.2.1")
	h.mustRefuse("s1", "192.0.2.1", time.Second)
	// Server code: no Source, never limited, whatever the type.
	for i := range 1000 {
		for _, typ := range []string{actions.TypeWriteMessage, actions.TypeConnect, actions.TypePostMessage} {
			if err := h.dispatch(context.Background(), &actions.Action{Type: typ, Room: "r", Session: "s1"}); err != nil {
				t.Fatalf("server-side %s %d refused: %v", typ, i, err)
			}
		}
	}
	// Types that do not count pass from an exhausted socket, and opening
	// and closing sessions always do.
	for _, typ := range []string{actions.TypeOpenSession, actions.TypeExpirePresence, actions.TypeCloseSession} {
		if e := h.from("s1", "192.0.2.1", typ); e != nil {
			t.Fatalf("%s refused: %v", typ, e)
		}
	}
	if len(h.l.addrs) != 1 {
		t.Fatalf("server-side actions made address state: %v", h.l.addrs)
	}
}

func TestRateLimitTypes(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 1, PerAddress: rate.Inf})
	if e := h.from("s1", "192.0.2.1", actions.TypeConnect); e != nil {
		t.Fatalf("connect refused: %v", e)
	}
	if e := h.from("s1", "192.0.2.1", actions.TypeConnect); e == nil || e.Code != actions.CodeRateLimited {
		t.Fatalf("second connect = %v, want rate_limited: connect counts by default", e)
	}
	h = newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 1, PerAddress: rate.Inf, Types: []string{actions.TypeWriteMessage}})
	for range 5 {
		if e := h.from("s1", "192.0.2.1", actions.TypeConnect); e != nil {
			t.Fatalf("connect refused although only writes count: %v", e)
		}
	}
	h.mustPass(1, "s1", "192.0.2.1")
	h.mustRefuse("s1", "192.0.2.1", time.Second)
}

func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf})
	h.mustPass(10_000, "s1", "192.0.2.1")
	if len(h.l.addrs) != 0 {
		t.Fatalf("no address limit, yet %d addresses kept", len(h.l.addrs))
	}
}

func TestRateLimitCloseFreesSession(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 2, PerAddress: rate.Inf})
	for i := range 100 {
		h.mustPass(2, fmt.Sprint("s", i), "192.0.2.1")
	}
	h.mustRefuse("s7", "192.0.2.1", time.Second)
	if len(h.l.sessions) != 100 {
		t.Fatalf("%d sessions kept, want 100", len(h.l.sessions))
	}
	for i := range 100 {
		if e := h.from(fmt.Sprint("s", i), "192.0.2.1", actions.TypeCloseSession); e != nil {
			t.Fatalf("close refused: %v", e)
		}
	}
	if len(h.l.sessions) != 0 {
		t.Fatalf("%d sessions kept after every socket closed", len(h.l.sessions))
	}
	// A close dispatched by server code (no Source) frees its session too.
	h.mustPass(2, "s1", "192.0.2.1")
	if err := h.dispatch(context.Background(), &actions.Action{Type: actions.TypeCloseSession, Room: "r", Session: "s1"}); err != nil {
		t.Fatal(err)
	}
	if len(h.l.sessions) != 0 {
		t.Fatalf("%d sessions kept after a server-side close", len(h.l.sessions))
	}
}

func TestRateLimitEvictsIdleAddresses(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Inf, PerAddress: 10, AddressBurst: 10})
	for i := range 1000 {
		h.mustPass(1, "s", fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if len(h.l.addrs) != 1000 {
		t.Fatalf("%d addresses kept, want 1000", len(h.l.addrs))
	}
	// Just before the next sweep, one address drains its bucket.
	h.advance(10*time.Second - 100*time.Millisecond)
	h.mustPass(10, "s", "192.0.2.1")
	h.mustRefuse("s", "192.0.2.1", 100*time.Millisecond)
	// The sweep forgets the 1000 full buckets, not the drained one.
	h.advance(100 * time.Millisecond)
	h.mustPass(1, "s", "192.0.2.2")
	if len(h.l.addrs) != 2 {
		t.Fatalf("%d addresses kept after the sweep, want 2: %v", len(h.l.addrs), h.l.addrs)
	}
	h.mustPass(1, "s", "192.0.2.1")
	h.mustRefuse("s", "192.0.2.1", 100*time.Millisecond)
	// Without traffic there is no sweep, and nothing to sweep for.
	h.advance(time.Hour)
	h.mustPass(1, "s", "192.0.2.3")
	if len(h.l.addrs) != 1 {
		t.Fatalf("%d addresses kept after an idle hour, want 1", len(h.l.addrs))
	}
}

func TestRateLimitAbuseCloses(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: rate.Every(time.Hour), SessionBurst: 1, PerAddress: rate.Inf})
	h.mustPass(1, "s1", "192.0.2.1")
	refuse := func(wantClose int) {
		t.Helper()
		e := h.write("s1", "192.0.2.1")
		if e == nil || e.Code != actions.CodeRateLimited || e.Close != wantClose || e.Ref != "" {
			t.Fatalf("refusal = %+v, want rate_limited with close %d", e, wantClose)
		}
	}
	for range 10 {
		refuse(0)
		h.advance(100 * time.Millisecond)
	}
	// 10 in the last 10s; the first leaves the window exactly now.
	h.advance(9 * time.Second)
	refuse(0)
	refuse(actions.ClosePolicy) // the 11th within 10s
	refuse(actions.ClosePolicy) // and every one after, while it lasts
	if n := len(h.l.sessions["s1"].refused); n != 11 {
		t.Fatalf("%d refusals kept, want at most 11", n)
	}
	// Another socket of the same address starts with a clean record.
	h.mustPass(1, "s2", "192.0.2.1")
	if e := h.write("s2", "192.0.2.1"); e == nil || e.Close != 0 {
		t.Fatalf("first refusal of s2 = %+v, want no close", e)
	}
}

func TestRateLimitAbuseOptions(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 1, PerAddress: rate.Inf, AbuseLimit: 2, AbuseWindow: time.Second})
	h.mustPass(1, "s1", "192.0.2.1")
	h.mustRefuse("s1", "192.0.2.1", time.Second)
	h.advance(500 * time.Millisecond)
	h.mustRefuse("s1", "192.0.2.1", 500*time.Millisecond)
	h.advance(499 * time.Millisecond)
	if e := h.write("s1", "192.0.2.1"); e == nil || e.Close != actions.ClosePolicy {
		t.Fatalf("third refusal within 1s = %+v, want close 1008", e)
	}
}

func TestRateLimitConcurrent(t *testing.T) {
	t.Parallel()
	h := newRLHarness(t, RateLimitOptions{PerSession: 1, SessionBurst: 10, PerAddress: 1, AddressBurst: 100})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for range 20 {
				h.write(fmt.Sprint("s", i), "192.0.2.1")
			}
			h.from(fmt.Sprint("s", i), "192.0.2.1", actions.TypeCloseSession)
		})
	}
	wg.Wait()
	// 100 writes (the address's burst) and 20 closes.
	if got := h.passed.Load(); got != 120 {
		t.Fatalf("%d actions passed, want 120", got)
	}
	if len(h.l.sessions) != 0 {
		t.Fatalf("%d sessions kept", len(h.l.sessions))
	}
}

func TestRateLimitOptionsInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    RateLimitOptions
	}{
		{"negative session rate", RateLimitOptions{PerSession: -1}},
		{"NaN session rate", RateLimitOptions{PerSession: rate.Limit(math.NaN())}},
		{"+Inf instead of rate.Inf", RateLimitOptions{PerSession: rate.Limit(math.Inf(1))}},
		{"negative session burst", RateLimitOptions{SessionBurst: -1}},
		{"negative address rate", RateLimitOptions{PerAddress: -0.5}},
		{"negative address burst", RateLimitOptions{AddressBurst: -1}},
		{"negative abuse limit", RateLimitOptions{AbuseLimit: -1}},
		{"negative abuse window", RateLimitOptions{AbuseWindow: -time.Second}},
		{"closing sessions", RateLimitOptions{Types: []string{actions.TypeWriteMessage, actions.TypeCloseSession}}},
		{"opening sessions", RateLimitOptions{Types: []string{actions.TypeOpenSession}}},
		{"server start", RateLimitOptions{Types: []string{actions.TypeServerStart}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if mw, err := RateLimit(tt.o); err == nil || mw != nil {
				t.Fatalf("RateLimit(%+v) = %v, %v; want an error", tt.o, mw, err)
			}
		})
	}
	for _, o := range []RateLimitOptions{{}, {PerSession: rate.Inf, PerAddress: rate.Inf}, {PerSession: 0.5, SessionBurst: 1}} {
		if _, err := RateLimit(o); err != nil {
			t.Fatalf("RateLimit(%+v): %v", o, err)
		}
	}
}

func BenchmarkRateLimit(b *testing.B) {
	mw, err := RateLimit(RateLimitOptions{PerSession: rate.Inf, PerAddress: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	limited, err := RateLimit(RateLimitOptions{PerSession: 1e9, SessionBurst: 1e9, PerAddress: 1e9, AddressBurst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	next := func(context.Context, *actions.Action) error { return nil }
	for _, bm := range []struct {
		name string
		d    func(context.Context, *actions.Action) error
	}{{"off", mw(next)}, {"on", limited(next)}} {
		b.Run(bm.name, func(b *testing.B) {
			ctx := actions.WithSource(context.Background(), actions.Source{Session: "s", Remote: "192.0.2.1"})
			a := &actions.Action{Type: actions.TypeWriteMessage, Session: "s"}
			b.ReportAllocs()
			for b.Loop() {
				if err := bm.d(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
