package middleware_test

import (
	"context"
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
