package transport

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// admission decides at the HTTP upgrade, before any socket exists,
// whether a client may open one: per-address protection lives here, at
// the door, so that nothing a chat action asks for is ever refused
// because of how many others share the sender's address.
//
// It caps the sockets open at once, in total and per client address, and
// gives each address a handshake budget (a token bucket). A handshake over
// the budget waits for its turn, up to HandshakeWait; one that would wait
// longer, or that finds a cap reached, is refused with 503 and Retry-After,
// which WebSocket clients treat as retryable.
type admission struct {
	maxConns, maxPerAddr int
	perSecond            rate.Limit
	burst                int
	maxWait              time.Duration
	now                  func() time.Time

	mu        sync.Mutex
	open      int
	addrs     map[netip.Prefix]*addrAdmission
	nextSweep time.Time
}

// addrAdmission is one client address's share: its open sockets (and
// handshakes under way) and its handshake bucket.
type addrAdmission struct {
	open   int
	bucket *rate.Limiter
}

func newAdmission(cfg Config) *admission {
	return &admission{
		maxConns: cfg.MaxConns, maxPerAddr: cfg.MaxConnsPerAddress,
		perSecond: rate.Limit(cfg.HandshakeRate), burst: cfg.HandshakeBurst, maxWait: cfg.HandshakeWait,
		now: time.Now, addrs: map[netip.Prefix]*addrAdmission{},
	}
}

// refusal says why a handshake was refused, and when to try again.
type refusal struct {
	why        string // for metrics: conns, address, handshakes, gone
	reason     string // for the client
	retryAfter time.Duration
}

// admit takes a place for a socket from addr, waiting for the address's
// handshake budget if need be. On success the caller must call release
// once the socket has ended.
func (a *admission) admit(ctx context.Context, addr netip.Prefix) (release func(), refused *refusal) {
	a.mu.Lock()
	now := a.now()
	a.sweep(now)
	if a.open >= a.maxConns {
		a.mu.Unlock()
		return nil, &refusal{"conns", "the server holds as many sockets as it may", 5 * time.Second}
	}
	s := a.addrs[addr]
	if s == nil {
		s = &addrAdmission{bucket: rate.NewLimiter(a.perSecond, a.burst)}
		a.addrs[addr] = s
	}
	if s.open >= a.maxPerAddr {
		a.mu.Unlock()
		return nil, &refusal{"address", "this address holds as many sockets as it may", 5 * time.Second}
	}
	r := s.bucket.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if !r.OK() || wait > a.maxWait {
		r.CancelAt(now)
		a.mu.Unlock()
		return nil, &refusal{"handshakes", "too many handshakes from this address", max(wait, time.Second)}
	}
	a.open++
	s.open++
	a.mu.Unlock()

	release = func() {
		a.mu.Lock()
		a.open--
		s.open--
		a.mu.Unlock()
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			release()
			return nil, &refusal{"gone", "the client went away", time.Second}
		}
	}
	return release, nil
}

// sweep forgets, every 10s, the addresses that hold no socket and whose
// budget is whole again: they are as good as new. a.mu held.
func (a *admission) sweep(now time.Time) {
	if now.Before(a.nextSweep) {
		return
	}
	for k, s := range a.addrs {
		if s.open == 0 && s.bucket.TokensAt(now) >= float64(a.burst) {
			delete(a.addrs, k)
		}
	}
	a.nextSweep = now.Add(10 * time.Second)
}

// addressKey is the unit of per-address limits: an IPv4 address, or an
// IPv6 /64 (what one subscriber usually gets). A remote that is not an IP
// address counts as its own unit.
func addressKey(remote string) netip.Prefix {
	ip, err := netip.ParseAddr(remote)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	p, _ := ip.Prefix(min(ip.BitLen(), 64))
	return p
}
