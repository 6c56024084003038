package transport

import (
	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// connectAction turns a `connecting` frame into the action that claims its
// id. The reducer decides whether the claim holds and which token the id
// keeps (actions.Connect); the socket prepares a fresh id for the case the
// claim fails, and a fresh token for the case a strict claim (v2, or a
// token was sent) starts a binding.
func (s *session) connectAction(f actions.Frame) *actions.Action {
	id := f.ID
	if id == "" {
		id = uuid.NewString()
	}
	c := actions.Connect{Username: f.Username, Fallback: uuid.NewString()}
	if s.v2 || f.Token != "" {
		s.token = actions.NewToken()
		c.Strict, c.TokenHash, c.FreshTokenHash = true, actions.HashToken(f.Token), actions.HashToken(s.token)
	}
	s.resume = resumeRequest{lastSeq: f.LastSeq, ok: f.HasLastSeq && f.Token != "", token: f.Token, tokenHash: c.TokenHash}
	return &actions.Action{Type: actions.TypeConnect, User: id, Payload: c}
}

// grantedToken is the token to hand the socket whose connect c was applied
// and got it user: the fresh token if the reducer bound it (the claim
// started the binding, or was verified), else the token the client sent if
// it is bound to user (the binding goes on), else none (a plain claim).
func (s *session) grantedToken(c store.Change[chat.State], user string) string {
	conn, _ := c.Action.Payload.(actions.Connect)
	switch {
	case c.Next.Bound(user, conn.FreshTokenHash):
		return s.token
	case c.Next.Bound(user, conn.TokenHash):
		return s.resume.token
	}
	return ""
}

// resumeRequest is what a `connecting` presented: the token sent, and for
// a v2 resume, the seq to resume from.
type resumeRequest struct {
	lastSeq   uint64
	ok        bool // lastSeq and a token were sent
	token     string
	tokenHash string
}
