package transport_test

// The grace period under hostile and refused actions, end to end: only
// what the reducer granted starts or cancels a grace timer
// (docs/protocol.md, "Presence" and "Ids and tokens").

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
)

// A claim of a dropped v2 user's id without its token, during its grace
// period, gets a fresh id and leaves the owner's grace timer running: the
// owner leaves right after the grace period, announced once to v1 and v2
// observers.
func TestPresenceRefusedClaimKeepsGraceTimer(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		v2    bool
		token string // "" sends none
	}{
		{"v2 without a token", true, ""},
		{"v2 with a wrong token", true, "not-the-owners-token"},
		{"v1 with a wrong token", false, "not-the-owners-token"},
		{"v1 without a token", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{Grace: grace, Data: chattest.Memory, RateLimit: noRateLimit})
			const room, path = "claim", "/chat/claim"
			obs1, _ := s.Join(t, path, "obs-v1", "olga")
			obs2 := s.JoinV2(t, path, "obs-v2", "oscar")
			expectPresence(t, obs1, "joined", "obs-v2", "oscar")
			owner := s.JoinV2(t, path, "owner-id", "owen")
			expectPresence(t, obs1, "joined", "owner-id", "owen")

			dropped := time.Now()
			owner.CloseNow()
			waitSockets(t, s, room, "owner-id", 0)
			fields := map[string]any{"id": "owner-id", "username": "mallory"}
			if tc.token != "" {
				fields["token"] = tc.token
			}
			fresh := claim(t, s, path, tc.v2, fields)
			if fresh == "" || fresh == "owner-id" {
				t.Fatalf("a claim of owner-id without its token got id %q, want a fresh one", fresh)
			}
			expectPresence(t, obs1, "joined", fresh, "mallory")
			expectPresence(t, obs1, "disconnected", "owner-id", "owen")
			if took := time.Since(dropped); took < grace || took > grace+time.Second {
				t.Fatalf("owner left %v after its drop, want right after the grace period of %v", took, grace)
			}
			if got := userListOps(t, obs2, 3); strings.Join(got, " ") != "+owner-id +"+fresh+" -owner-id" {
				t.Fatalf("v2 observer's userList changes = %v, want owner-id in, %s in, owner-id out", got, fresh)
			}

			// Nothing more about the owner, later either.
			time.Sleep(grace)
			_, e := s.Join(t, path, "carol-id", "carol")
			wantUsers(t, e, map[string]string{"obs-v1": "olga", "obs-v2": "oscar", fresh: "mallory", "carol-id": "carol"})
			expectPresence(t, obs1, "joined", "carol-id", "carol")
			if got := userListOps(t, obs2, 1); got[0] != "+carol-id" {
				t.Fatalf("v2 observer's next userList change = %v, want carol-id in", got)
			}
		})
	}
}

// A connecting rejected by the built-in validation or by a middleware
// installed after the built-ins cancels no grace timer, even when it
// presents the dropped user's own token; a socket whose connecting was
// rejected starts none when it closes; and a close that a middleware
// rejects starts none.
func TestPresenceRejectedActionsTouchNoTimer(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	g := &gate{}
	s := chattest.Start(t, server.Config{Grace: grace, Data: chattest.Memory, RateLimit: noRateLimit}, g.middleware)
	const room, path = "gate", "/chat/gate"
	obs, _ := s.Join(t, path, "obs-v1", "olga")
	owner := s.JoinV2(t, path, "owner-id", "owen")
	expectPresence(t, obs, "joined", "owner-id", "owen")
	sticky, _ := s.Join(t, path, "sticky-id", "sticky")
	expectPresence(t, obs, "joined", "sticky-id", "sticky")

	dropped := time.Now()
	owner.CloseNow()
	waitSockets(t, s, room, "owner-id", 0)
	for _, tc := range []struct{ username, code string }{
		{strings.Repeat("o", 10000), actions.CodeUsernameTooLong}, // refused by Validate
		{"rejected", "gated"}, // refused by g, after the built-ins
	} {
		c := s.Dial(t, path, chattest.V2())
		c.Send(chattest.Connecting(map[string]any{"id": "owner-id", "username": tc.username, "token": owner.Token}))
		expectErrorCode(t, c, tc.code)
		c.Close()
	}
	ghost := s.Dial(t, path)
	ghost.Send(chattest.Connecting(map[string]any{"id": "ghost-id", "username": "rejected"}))
	expectErrorCode(t, ghost, "gated")
	ghost.Close()
	sticky.Close()

	expectPresence(t, obs, "disconnected", "owner-id", "owen")
	if took := time.Since(dropped); took < grace || took > grace+time.Second {
		t.Fatalf("owner left %v after its drop, want right after the grace period of %v", took, grace)
	}
	nothingFor(t, obs, 2*grace)
	if got := g.expired(); strings.Join(got, " ") != "owner-id" {
		t.Fatalf("expiries dispatched for %v, want owner-id's only", got)
	}
	if pr, ok := s.Store().GetState().Room(room).Presence("sticky-id"); !ok || pr.Sockets != 1 {
		t.Fatalf("sticky-id = %+v (listed %v), want listed with its socket (its close was rejected)", pr, ok)
	}
}

// gate is a middleware installed after the built-ins: it rejects the
// connecting of username "rejected" and the close of user sticky-id's
// sockets, and records every presence expiry dispatched.
type gate struct {
	mu   sync.Mutex
	exps []string
}

func (g *gate) middleware(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		switch c, _ := a.Payload.(actions.Connect); {
		case a.Type == actions.TypeExpirePresence:
			g.mu.Lock()
			g.exps = append(g.exps, a.User)
			g.mu.Unlock()
		case a.Type == actions.TypeConnect && c.Username == "rejected",
			a.Type == actions.TypeCloseSession && a.User == "sticky-id":
			return &actions.Error{Code: "gated", Message: "not through this gate"}
		}
		return next(ctx, a)
	}
}

func (g *gate) expired() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.exps...)
}

// claim connects a socket to path with fields (v2, or v1 expecting
// `connected`) and returns the id it got.
func claim(t *testing.T, s *chattest.Server, path string, v2 bool, fields map[string]any) string {
	t.Helper()
	if v2 {
		c, e := s.ConnectV2(t, path, "claimant", nil, fields)
		if e.Name() != "snapshot" {
			t.Fatalf("claim: got %v, want a snapshot", e)
		}
		return c.ID
	}
	c := s.Dial(t, path)
	c.Send(chattest.Connecting(fields))
	return c.Expect("connected").Str("id")
}

// waitSockets waits until user is listed in room with n sockets, as the
// store's state says.
func waitSockets(t *testing.T, s *chattest.Server, room, user string, n int) {
	t.Helper()
	deadline := time.Now().Add(chattest.Timeout)
	for {
		r := s.Store().GetState().Room(room)
		if r != nil {
			if pr, ok := r.Presence(user); ok && pr.Sockets == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listed in %s with %d sockets", user, room, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// userListOps reads a v2 client's patches until they carried n userList
// operations, and returns them as "+id" (entered) and "-id" (left); other
// frames fail the test.
func userListOps(t *testing.T, c *chattest.Client, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		before := c.State().UserList
		e := c.Next()
		if e.Name() != "patch" {
			t.Fatalf("got %v, want a patch", e)
		}
		out = append(out, userOps(t, before, e)...)
	}
	if len(out) != n {
		t.Fatalf("userList changes %v, want %d", out, n)
	}
	return out
}
