package chat

import (
	"slices"

	"github.com/statecast/statecast/actions"
)

// MaxTokens is how many tokens stay bound to one id: the newest ones.
// docs/protocol.md keeps every token valid while the binding lasts; this bound
// keeps a client that reconnects without end from growing the state without
// end. Only an id that reconnects more than MaxTokens times without ever
// leaving every room loses its oldest tokens.
const MaxTokens = 1024

// identity is what the state knows of a user id across rooms: in how many
// rooms' user lists it is (grace periods included), and the hashes of the
// tokens bound to it. An id present in no room has no entry: its binding
// has ended.
type identity struct {
	Rooms  int      `json:"rooms"`
	Tokens []string `json:"tokens,omitempty"`
}

func (s State) identity(id string) identity {
	i, _ := s.ids.Get(id)
	return i
}

func (s State) withIdentity(id string, i identity) State {
	if i.Rooms <= 0 {
		s.ids = s.ids.Delete(id)
	} else {
		s.ids = s.ids.Set(id, i)
	}
	return s
}

// Present reports whether id is in some room's user list (on a live socket
// or inside its grace period).
func (s State) Present(id string) bool { return s.identity(id).Rooms > 0 }

// Bound reports whether tokenHash is one of the tokens bound to id.
func (s State) Bound(id, tokenHash string) bool {
	return tokenHash != "" && slices.Contains(s.identity(id).Tokens, tokenHash)
}

// mayClaim applies the rule of actions.Connect.
func (s State) mayClaim(id string, c actions.Connect) bool {
	if c.Verified {
		return true
	}
	i := s.identity(id)
	if c.Strict {
		return i.Rooms == 0 || s.Bound(id, c.TokenHash)
	}
	return i.Rooms == 0 || len(i.Tokens) == 0
}

func (s State) enteredRoom(id string) State {
	i := s.identity(id)
	i.Rooms++
	return s.withIdentity(id, i)
}

// leftRoom counts a room the id left; leaving the last one ends its binding.
func (s State) leftRoom(id string) State {
	i := s.identity(id)
	i.Rooms--
	return s.withIdentity(id, i)
}

func (s State) bindToken(id, hash string) State {
	i := s.identity(id)
	tokens := append(slices.Clone(i.Tokens), hash)
	if len(tokens) > MaxTokens {
		tokens = tokens[len(tokens)-MaxTokens:]
	}
	i.Tokens = tokens
	return s.withIdentity(id, i)
}
