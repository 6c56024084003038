package transport_test

import (
	"testing"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestTokenOutlivesReconnects (docs/protocol.md, "Ids and tokens"): a v2
// user reconnects 1,100 times while its binding lasts (more than the 1,024
// tokens an id once kept; a first tab keeps its id present). Every
// reconnect keeps the id and is handed the token of the binding; then the
// first token handed out still resumes the id.
func TestTokenOutlivesReconnects(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Data: chattest.Memory, RateLimit: noRateLimit})
	const room, id = "/chat/token_reconnects", "ann-tokens"
	tab := s.JoinV2(t, room, id, "ann")
	first, token := tab.Token, tab.Token
	for i := range 1100 {
		c, e := s.ConnectV2(t, room, "ann", nil, map[string]any{"id": id, "username": "ann", "token": token})
		if e.Name() != "snapshot" || c.ID != id || c.Token != first {
			t.Fatalf("reconnect %d with the newest token: %v, want a snapshot for %s with the first token", i, e, id)
		}
		token = c.Token
		c.CloseNow()
	}
	again, e := s.Resume(t, room, tab)
	if e.Name() != "resumed" || again.ID != id || again.Token != first {
		t.Fatalf("resume with the first token after 1,100 reconnects: %v, want resumed as %s", e, id)
	}
}

// TestTokenOfAnEndedBindingIsRefused: once the id left every room, its
// token claims nothing: the next client binds the id afresh, and the old
// token, or a forged one, gets a fresh id from then on.
func TestTokenOfAnEndedBindingIsRefused(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Data: chattest.Memory, RateLimit: noRateLimit, Grace: 1})
	const room, id = "/chat/token_ended", "bob-tokens"
	bob := s.JoinV2(t, room, id, "bob")
	old := bob.Token
	bob.Close()
	// The grace period is 1ns: bob leaves the room, and his binding ends,
	// once his socket closed. Until then a claim without the token fails.
	for try := 0; ; try++ {
		if try == 1000 {
			t.Fatalf("%s is still bound after bob left", id)
		}
		c, _ := s.ConnectV2(t, room, "thief", nil, map[string]any{"id": id, "username": "thief"})
		if c.ID == id {
			if c.Token == old {
				t.Fatalf("a new binding of %s was handed the token of the ended one", id)
			}
			break
		}
		c.CloseNow()
	}
	for _, token := range []string{old, "forged-token"} {
		c, e := s.ConnectV2(t, room, "bob", nil, map[string]any{"id": id, "username": "bob", "token": token, "lastSeq": 1})
		if e.Name() != "snapshot" || c.ID == id {
			t.Fatalf("claim of %s with token %q: %v, want a snapshot with a fresh id", id, token, e)
		}
	}
}
