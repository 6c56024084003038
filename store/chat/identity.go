package chat

import (
	"slices"

	"github.com/statecast/statecast/actions"
)

// maxLegacyTokens is how many of the tokens bound by Connects of the older
// format (actions.Connect.NewTokenHash) one id keeps: the newest, as older
// versions did. Connects of the current format add none.
const maxLegacyTokens = 1024

// identity is what the state knows of a user id across rooms: in how many
// rooms' user lists it is (grace periods included), and its binding: the
// hash of its token. An id present in no room has no entry: its binding
// has ended, and its token with it.
//
// A binding has one token, not one per connect: any token of a binding
// gets the id while it lasts, so more tokens would prove nothing more, and
// one keeps the entry's size fixed however often the id reconnects. It
// needs no server secret either: the state and the log hold only the
// token's hash, so neither gives the token away, and every node of a
// cluster checks a token against the shared state alone.
type identity struct {
	Rooms int `json:"rooms"`
	// Token is the hash of the id's token; "" while the id is bound to
	// none (only plain claims got it).
	Token string `json:"token,omitempty"`
	// Legacy holds the hashes that Connects of the older format bound to
	// the id (logs and snapshots of older versions), oldest first, at most
	// maxLegacyTokens. They stay valid while the binding lasts.
	Legacy []string `json:"tokens,omitempty"`
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

// Bound reports whether tokenHash is the hash of a token bound to id.
func (s State) Bound(id, tokenHash string) bool {
	i := s.identity(id)
	return tokenHash != "" && (tokenHash == i.Token || slices.Contains(i.Legacy, tokenHash))
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
	return i.Rooms == 0 || (i.Token == "" && len(i.Legacy) == 0)
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

// bind records the token of a strict claim c that got id (which is then
// present): c.FreshTokenHash becomes the id's token if the id has none yet
// or the claim is verified; otherwise the id keeps its token. A Connect of
// the older format adds its NewTokenHash to Legacy instead, as older
// versions did; it is the only case that copies a list.
func (s State) bind(id string, c actions.Connect) State {
	i := s.identity(id)
	switch {
	case c.FreshTokenHash != "":
		if i.Token != "" && !c.Verified {
			return s
		}
		i.Token = c.FreshTokenHash
	case c.NewTokenHash != "":
		legacy := append(slices.Clone(i.Legacy), c.NewTokenHash)
		i.Legacy = legacy[max(0, len(legacy)-maxLegacyTokens):]
	default:
		return s
	}
	return s.withIdentity(id, i)
}
