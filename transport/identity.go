package transport

import (
	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
)

// connectAction turns a `connecting` frame into the action that claims its
// id. The reducer decides whether the claim holds (actions.Connect); the
// socket prepares a fresh id for the case it does not, and a fresh token
// when the claim is strict (v2, or a token was sent).
func (s *session) connectAction(f actions.Frame) *actions.Action {
	id := f.ID
	if id == "" {
		id = uuid.NewString()
	}
	c := actions.Connect{Username: f.Username, Fallback: uuid.NewString()}
	if s.v2 || f.Token != "" {
		s.token = actions.NewToken()
		c.Strict, c.TokenHash, c.NewTokenHash = true, actions.HashToken(f.Token), actions.HashToken(s.token)
	}
	s.resume = resumeRequest{lastSeq: f.LastSeq, ok: f.HasLastSeq && f.Token != "", tokenHash: c.TokenHash}
	return &actions.Action{Type: actions.TypeConnect, User: id, Payload: c}
}

// resumeRequest is what a v2 `connecting` asked to resume from.
type resumeRequest struct {
	lastSeq   uint64
	ok        bool // lastSeq and a token were sent
	tokenHash string
}
