package middleware

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"golang.org/x/time/rate"
)

// RateLimitOptions configure RateLimit. Zero values mean the defaults;
// negative ones are refused; rate.Inf turns a limit off.
type RateLimitOptions struct {
	// PerSession is how many counted actions per second one socket may send
	// in the long run, SessionBurst how many at once after a quiet spell.
	// Default to 10 per second, bursts of 20.
	PerSession   rate.Limit
	SessionBurst int
	// PerAddress and AddressBurst are the same for all the sockets of one
	// remote address (IPv4, or an IPv6 /64) together. They never count
	// TypeConnect: a user is never refused entry because of how many others
	// share its address (thousands can, behind one NAT or proxy), and the
	// transport already guards the door per address (its handshake budget
	// and connection cap). PerAddress defaults to no limit; AddressBurst,
	// when PerAddress is set, to twice PerAddress (at least 1).
	PerAddress   rate.Limit
	AddressBurst int
	// Types are the action types that count. Defaults to TypeWriteMessage
	// and TypeConnect. Opening and closing sessions cannot count (a close
	// must always be recorded), nor can TypeServerStart or TypeNodeDown.
	Types []string
	// A refusal that makes one socket's refusals more than AbuseLimit
	// within AbuseWindow carries Close 1008. Default to 10 within 10s.
	AbuseLimit  int
	AbuseWindow time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// RateLimit refuses actions from sockets (with an actions.Source in their
// context) faster than two token buckets allow, the socket's and, if
// PerAddress is set, its remote address's (connects excepted); a refused
// action takes no token. A refusal is an *actions.Error with code
// rate_limited, a message and a RetryAfter saying when to retry, and no Ref
// (the transport names the event); the one that makes the socket's
// refusals more than AbuseLimit within AbuseWindow carries Close 1008. (The
// transport also counts refusals as bad frames.)
//
// It never limits server code's actions (no Source). Its memory stays
// bounded without a goroutine: a socket's state goes with its
// TypeCloseSession, an address's once its bucket is full again.
//
// Put it after Logger, so that refusals are logged, and before Auth and
// Validate, so that a flood costs little.
func RateLimit(o RateLimitOptions) (store.Middleware, error) {
	l, err := newRateLimiter(o)
	if err != nil {
		return nil, err
	}
	return l.middleware, nil
}

func (l *rateLimiter) middleware(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		src, ok := actions.SourceFrom(ctx)
		if a.Type == actions.TypeCloseSession {
			l.mu.Lock()
			delete(l.sessions, a.Session)
			delete(l.sessions, src.Session)
			l.mu.Unlock()
		} else if ok && l.counted[a.Type] {
			if e := l.allow(src, a.Type != actions.TypeConnect); e != nil {
				return e
			}
		}
		return next(ctx, a)
	}
}

type rateLimiter struct {
	o         RateLimitOptions
	counted   map[string]bool
	mu        sync.Mutex
	sessions  map[string]*bucket
	addrs     map[string]*bucket
	nextSweep time.Time
}

type bucket struct {
	*rate.Limiter
	refused []time.Time // of a socket: its refusals in the abuse window
}

// allow takes a token from the socket's bucket, and from its address's if
// byAddress, or refuses.
func (l *rateLimiter) allow(src actions.Source, byAddress bool) *actions.Error {
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sessions[src.Session]
	if s == nil {
		s = &bucket{Limiter: rate.NewLimiter(l.o.PerSession, l.o.SessionBurst)}
		l.sessions[src.Session] = s
	}
	addr := s // stands in when there is no address limit
	if byAddress && l.o.PerAddress != rate.Inf && src.Remote != "" {
		addr = l.address(src.Remote, now)
	}
	wait := max(waitFor(s, now), waitFor(addr, now))
	if wait == 0 {
		s.AllowN(now, 1)
		if addr != s {
			addr.AllowN(now, 1)
		}
		return nil
	}
	for len(s.refused) > 0 && now.Sub(s.refused[0]) >= l.o.AbuseWindow || len(s.refused) > l.o.AbuseLimit {
		s.refused = s.refused[1:]
	}
	if s.refused = append(s.refused, now); len(s.refused) > l.o.AbuseLimit {
		return &actions.Error{Code: actions.CodeRateLimited, Message: "rate limit exceeded too often", Close: actions.ClosePolicy}
	}
	e := actions.Errorf(actions.CodeRateLimited, "rate limit exceeded: retry in %v", wait)
	e.RetryAfter = wait
	return e
}

// address returns the bucket of remote, first forgetting every address
// whose bucket is full (as good as new) if the last sweep is 10s old.
func (l *rateLimiter) address(remote string, now time.Time) *bucket {
	if !now.Before(l.nextSweep) {
		for k, b := range l.addrs {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(l.addrs, k)
			}
		}
		l.nextSweep = now.Add(10 * time.Second)
	}
	if ip, err := netip.ParseAddr(remote); err == nil {
		ip = ip.Unmap().WithZone("")
		p, _ := ip.Prefix(min(ip.BitLen(), 64)) // IPv6: a subscriber's /64
		remote = p.String()
	}
	b := l.addrs[remote]
	if b == nil {
		b = &bucket{Limiter: rate.NewLimiter(l.o.PerAddress, l.o.AddressBurst)}
		l.addrs[remote] = b
	}
	return b
}

// waitFor returns how long b needs to hold one token, in whole
// milliseconds; 0 if it does.
func waitFor(b *bucket, now time.Time) time.Duration {
	ns := min(math.Round(max(1-b.TokensAt(now), 0)/float64(b.Limit())*1e9), 1e18)
	return (time.Duration(ns) + time.Millisecond - 1).Truncate(time.Millisecond)
}

func newRateLimiter(o RateLimitOptions) (*rateLimiter, error) {
	if !(o.PerSession >= 0 && o.PerSession <= rate.Inf && o.PerAddress >= 0 && o.PerAddress <= rate.Inf) ||
		min(o.SessionBurst, o.AddressBurst, o.AbuseLimit) < 0 || o.AbuseWindow < 0 {
		return nil, fmt.Errorf("middleware.RateLimit: a negative or NaN option (want 0 for the default; rate.Inf for no limit)")
	}
	o.PerSession, o.SessionBurst = cmp.Or(o.PerSession, 10), cmp.Or(o.SessionBurst, 20)
	o.PerAddress = cmp.Or(o.PerAddress, rate.Inf)
	o.AddressBurst = cmp.Or(o.AddressBurst, max(1, int(min(2*float64(o.PerAddress), 1e9))))
	o.AbuseLimit, o.AbuseWindow = cmp.Or(o.AbuseLimit, 10), cmp.Or(o.AbuseWindow, 10*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Types) == 0 {
		o.Types = []string{actions.TypeWriteMessage, actions.TypeConnect}
	}
	l := &rateLimiter{o: o, counted: map[string]bool{}, sessions: map[string]*bucket{}, addrs: map[string]*bucket{}}
	for _, t := range o.Types {
		if t == actions.TypeOpenSession || t == actions.TypeCloseSession || t == actions.TypeServerStart || t == actions.TypeNodeDown {
			return nil, fmt.Errorf("middleware.RateLimit: %s cannot be limited", t)
		}
		l.counted[t] = true
	}
	return l, nil
}
