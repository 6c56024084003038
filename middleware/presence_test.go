package middleware_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// presenceStore is a chat store with the presence middleware installed.
func presenceStore(t *testing.T, grace time.Duration) (*store.Store[chat.State], *middleware.Presence) {
	t.Helper()
	s := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	p := middleware.NewPresence(s, grace, zerolog.Nop())
	s.Use(p.Middleware())
	t.Cleanup(func() { p.Close(); s.Close() })
	return s, p
}

func do(t *testing.T, s *store.Store[chat.State], typ, sess, user string) {
	t.Helper()
	var payload any
	if typ == actions.TypeConnect {
		payload = actions.Connect{Username: user}
	}
	if err := s.Dispatch(context.Background(), &actions.Action{Type: typ, Room: "r", Session: sess, User: user, Payload: payload}); err != nil {
		t.Fatal(err)
	}
}

func listed(s *store.Store[chat.State], user string) bool {
	_, ok := s.GetState().Room("r").Presence(user)
	return ok
}

func waitUntil(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func TestPresenceExpiresAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 150 * time.Millisecond
	s, _ := presenceStore(t, grace)
	do(t, s, actions.TypeOpenSession, "s1", "")
	do(t, s, actions.TypeConnect, "s1", "u")
	closed := time.Now()
	do(t, s, actions.TypeCloseSession, "s1", "u")
	if !listed(s, "u") {
		t.Fatal("user left at once, without a grace period")
	}
	if !waitUntil(t, 2*time.Second, func() bool { return !listed(s, "u") }) {
		t.Fatal("user still listed 2s after the grace period")
	}
	if took := time.Since(closed); took < grace {
		t.Fatalf("user left after %v, before the grace of %v", took, grace)
	}
}

func TestPresenceReloadKeepsUser(t *testing.T) {
	t.Parallel()
	s, _ := presenceStore(t, 100*time.Millisecond)
	do(t, s, actions.TypeOpenSession, "s1", "")
	do(t, s, actions.TypeConnect, "s1", "u")
	do(t, s, actions.TypeCloseSession, "s1", "u")
	do(t, s, actions.TypeOpenSession, "s2", "")
	do(t, s, actions.TypeConnect, "s2", "u")
	time.Sleep(300 * time.Millisecond)
	if !listed(s, "u") {
		t.Fatal("a user who came back within the grace period was removed")
	}
}

func TestPresenceCloseStopsTimers(t *testing.T) {
	t.Parallel()
	s, p := presenceStore(t, 50*time.Millisecond)
	do(t, s, actions.TypeOpenSession, "s1", "")
	do(t, s, actions.TypeConnect, "s1", "u")
	do(t, s, actions.TypeCloseSession, "s1", "u")
	p.Close()
	p.Close()
	time.Sleep(150 * time.Millisecond)
	if !listed(s, "u") {
		t.Fatal("an expiry fired after Close")
	}
}

func TestPresenceResumeAfterRestart(t *testing.T) {
	t.Parallel()
	// A previous run left ann in her grace period and bob with an open socket.
	s := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	do(t, s, actions.TypeOpenSession, "s1", "")
	do(t, s, actions.TypeConnect, "s1", "ann")
	do(t, s, actions.TypeCloseSession, "s1", "ann")
	do(t, s, actions.TypeOpenSession, "s2", "")
	do(t, s, actions.TypeConnect, "s2", "bob")
	p := middleware.NewPresence(s, 50*time.Millisecond, zerolog.Nop())
	s.Use(p.Middleware())
	t.Cleanup(func() { p.Close(); s.Close() })

	if err := s.Dispatch(context.Background(), &actions.Action{Type: actions.TypeServerStart}); err != nil {
		t.Fatal(err)
	}
	p.Resume("")
	if !waitUntil(t, 2*time.Second, func() bool { return !listed(s, "ann") && !listed(s, "bob") }) {
		t.Fatalf("after a restart: ann listed %v, bob listed %v; want both gone after the grace", listed(s, "ann"), listed(s, "bob"))
	}
}

// holdStore is a chat store with the presence middleware installed, and
// after it a middleware that can hold an action once it is applied, before
// the presence middleware acts on it: as a dispatcher that loses the CPU
// there would. GetState returns stale, once, when set: as a state read
// before later actions were applied.
type holdStore struct {
	*store.Store[chat.State]
	stale atomic.Pointer[chat.State]

	mu      sync.Mutex
	match   func(*actions.Action) bool
	held    chan struct{}
	release chan struct{}
}

func newHoldStore(t *testing.T, grace time.Duration) *holdStore {
	t.Helper()
	s, err := store.Open(context.Background(), chat.State{}, chat.NewReducer(chat.Options{}), store.Options[chat.State]{Outcome: chat.OutcomeOf})
	if err != nil {
		t.Fatal(err)
	}
	h := &holdStore{Store: s}
	p := middleware.NewPresence(h, grace, zerolog.Nop())
	s.Use(p.Middleware(), h.middleware)
	t.Cleanup(func() { p.Close(); s.Close() })
	return h
}

func (h *holdStore) GetState() chat.State {
	if st := h.stale.Swap(nil); st != nil {
		return *st
	}
	return h.Store.GetState()
}

func (h *holdStore) middleware(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		err := next(ctx, a)
		h.mu.Lock()
		match := h.match
		h.mu.Unlock()
		if match != nil && match(a) {
			close(h.held)
			<-h.release
		}
		return err
	}
}

// hold dispatches the action of typ for session sess in the background and
// returns once it is applied; release lets the presence middleware act on
// it and waits for its dispatch to return.
func (h *holdStore) hold(t *testing.T, typ, sess, user string) (release func()) {
	t.Helper()
	h.mu.Lock()
	h.match = func(a *actions.Action) bool { return a.Type == typ && a.Session == sess }
	h.held, h.release = make(chan struct{}), make(chan struct{})
	h.mu.Unlock()
	var payload any
	if typ == actions.TypeConnect {
		payload = actions.Connect{Username: user}
	}
	done := make(chan error, 1)
	go func() {
		done <- h.Dispatch(context.Background(), &actions.Action{Type: typ, Room: "r", Session: sess, User: user, Payload: payload})
	}()
	<-h.held
	h.mu.Lock()
	h.match = nil
	h.mu.Unlock()
	return func() {
		t.Helper()
		close(h.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A connect acted on late (after the user closed its sockets again) does
// not cancel the grace period that the later close started.
func TestPresenceLateConnectKeepsLaterGrace(t *testing.T) {
	t.Parallel()
	const grace = 100 * time.Millisecond
	h := newHoldStore(t, grace)
	do(t, h.Store, actions.TypeOpenSession, "s1", "")
	do(t, h.Store, actions.TypeConnect, "s1", "u")
	do(t, h.Store, actions.TypeOpenSession, "s2", "")
	release := h.hold(t, actions.TypeConnect, "s2", "u")
	do(t, h.Store, actions.TypeCloseSession, "s1", "u")
	do(t, h.Store, actions.TypeCloseSession, "s2", "u")
	release()
	if !waitUntil(t, grace+2*time.Second, func() bool { return !listed(h.Store, "u") }) {
		t.Fatal("user still listed 2s after its grace period: a late connect cancelled it")
	}
}

// A close acted on late, on a state read before the user came back and
// left again, does not replace the grace period of the later close.
func TestPresenceLateCloseKeepsLaterGrace(t *testing.T) {
	t.Parallel()
	const grace = 100 * time.Millisecond
	h := newHoldStore(t, grace)
	do(t, h.Store, actions.TypeOpenSession, "s1", "")
	do(t, h.Store, actions.TypeConnect, "s1", "u")
	do(t, h.Store, actions.TypeOpenSession, "s2", "")
	release := h.hold(t, actions.TypeCloseSession, "s1", "u")
	stale := h.Store.GetState()
	do(t, h.Store, actions.TypeConnect, "s2", "u")
	do(t, h.Store, actions.TypeCloseSession, "s2", "u")
	h.stale.Store(&stale)
	release()
	if !waitUntil(t, grace+2*time.Second, func() bool { return !listed(h.Store, "u") }) {
		t.Fatal("user still listed 2s after its grace period: a late close replaced it with a stale one")
	}
}
