package transport

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func testAdmission(cfg Config) *admission {
	return newAdmission(cfg.withDefaults())
}

var oneAddr = netip.MustParsePrefix("192.0.2.1/32")

// TestAdmissionCaps: the caps on open sockets, in total and per address,
// refuse at once with a retry hint, and a released place is free again.
func TestAdmissionCaps(t *testing.T) {
	t.Parallel()
	a := testAdmission(Config{MaxConns: 3, MaxConnsPerAddress: 2})
	ctx := context.Background()
	r1, no := a.admit(ctx, oneAddr)
	r2, no2 := a.admit(ctx, oneAddr)
	if no != nil || no2 != nil {
		t.Fatalf("refused under the caps: %v %v", no, no2)
	}
	if _, no := a.admit(ctx, oneAddr); no == nil || no.why != "address" || no.retryAfter <= 0 {
		t.Fatalf("third socket of one address: %+v, want refused by the address cap with a retry hint", no)
	}
	other := netip.MustParsePrefix("192.0.2.2/32")
	r3, no := a.admit(ctx, other)
	if no != nil {
		t.Fatalf("another address refused: %v", no)
	}
	if _, no := a.admit(ctx, netip.MustParsePrefix("192.0.2.3/32")); no == nil || no.why != "conns" {
		t.Fatalf("fourth socket: %+v, want refused by the total cap", no)
	}
	r1()
	if r, no := a.admit(ctx, oneAddr); no != nil {
		t.Fatalf("a released place is not free: %v", no)
	} else {
		r()
	}
	r2()
	r3()
	if a.open != 0 {
		t.Fatalf("%d places still taken", a.open)
	}
}

// TestAdmissionHandshakeBudget: handshakes over an address's budget wait
// their turn; one that would wait too long is refused with the wait as
// its hint, and takes nothing from the budget.
func TestAdmissionHandshakeBudget(t *testing.T) {
	t.Parallel()
	// Slow enough that a busy machine's scheduling delays (tens of ms)
	// cannot turn a wait into a refusal or the other way round.
	a := testAdmission(Config{HandshakeRate: 1, HandshakeBurst: 2, HandshakeWait: 1500 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	for i := range 3 { // two at once, the third after ~1s
		release, no := a.admit(ctx, oneAddr)
		if no != nil {
			t.Fatalf("handshake %d refused: %+v", i, no)
		}
		release()
	}
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Fatalf("the third handshake did not wait (%v)", took)
	}
	// Now the budget is empty: one more waits ~1s; another one at the
	// same time would wait ~2s, over the 1.5s limit.
	waited := make(chan *refusal)
	go func() {
		r, no := a.admit(ctx, oneAddr)
		if no == nil {
			r()
		}
		waited <- no
	}()
	for taken := 0; taken == 0; time.Sleep(time.Millisecond) { // until it waits
		select {
		case no := <-waited:
			t.Fatalf("a handshake within the wait ended before the next began: %+v", no)
		default:
		}
		a.mu.Lock()
		taken = a.open
		a.mu.Unlock()
	}
	if _, no := a.admit(ctx, oneAddr); no == nil || no.why != "handshakes" || no.retryAfter < time.Second {
		t.Fatalf("over the wait: %+v, want refused for handshakes with a hint of at least 1s", no)
	}
	if no := <-waited; no != nil {
		t.Fatalf("a handshake within the wait refused: %+v", no)
	}
	if _, no := a.admit(ctx, netip.MustParsePrefix("192.0.2.2/32")); no != nil {
		t.Fatalf("another address waits for this one's budget: %+v", no)
	}
}

// TestAdmissionWaitEndsWithTheClient: a handshake that waits for its turn
// gives its place back when its client goes away.
func TestAdmissionWaitEndsWithTheClient(t *testing.T) {
	t.Parallel()
	a := testAdmission(Config{HandshakeRate: 1, HandshakeBurst: 1, HandshakeWait: time.Hour})
	r, _ := a.admit(context.Background(), oneAddr)
	r()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, no := a.admit(ctx, oneAddr); no == nil || no.why != "gone" {
		t.Fatalf("a handshake whose client left: %+v, want gone", no)
	}
	if a.open != 0 {
		t.Fatalf("%d places still taken", a.open)
	}
}

// TestAdmissionForgetsIdleAddresses: memory stays bounded by the addresses
// that hold sockets or are short of budget.
func TestAdmissionForgetsIdleAddresses(t *testing.T) {
	t.Parallel()
	a := testAdmission(Config{})
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	var held func()
	for i := range 1000 {
		r, no := a.admit(context.Background(), netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32))
		if no != nil {
			t.Fatal(no)
		}
		if i == 0 {
			held = r
		} else {
			r()
		}
	}
	now = now.Add(time.Minute)
	r, _ := a.admit(context.Background(), oneAddr)
	if len(a.addrs) != 2 { // the one holding a socket, and oneAddr
		t.Fatalf("%d addresses kept, want 2", len(a.addrs))
	}
	r()
	held()
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	same := [][2]string{{"192.0.2.1", "::ffff:192.0.2.1"}, {"2001:db8:0:1::1", "2001:db8:0:1:ffff::2"}, {"fe80::1%eth0", "fe80::2%eth1"}}
	for _, p := range same {
		if addressKey(p[0]) != addressKey(p[1]) {
			t.Errorf("%s and %s are different addresses", p[0], p[1])
		}
	}
	if addressKey("192.0.2.1") == addressKey("192.0.2.2") || addressKey("2001:db8:0:1::1") == addressKey("2001:db8:0:2::1") {
		t.Error("two addresses share a key")
	}
}
