package middleware

import (
	"context"
	"unicode/utf8"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// MaxUsername is the longest username, in Unicode code points.
const MaxUsername = 64

// Validate rejects actions whose fields break the protocol's limits: a
// username must be non-empty, at most MaxUsername code points and valid
// UTF-8, and a connecting user must have an id. Shapes of frames (types,
// missing fields) are checked earlier, by the decoder. Put it after Logger,
// so that rejections are logged.
func Validate() store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if a.Type == actions.TypeConnect {
				if err := validateConnect(a); err != nil {
					err.Ref = actions.EventConnecting
					return err
				}
			}
			return next(ctx, a)
		}
	}
}

func validateConnect(a *actions.Action) *actions.Error {
	c, _ := a.Payload.(actions.Connect)
	switch {
	case a.User == "":
		return actions.Errorf(actions.CodeMissingField, "connecting needs a user id")
	case c.Username == "":
		return actions.Errorf(actions.CodeMissingField, "connecting needs a non-empty username")
	case !utf8.ValidString(c.Username):
		return actions.Errorf(actions.CodeWrongType, "username must be valid UTF-8")
	case utf8.RuneCountInString(c.Username) > MaxUsername:
		return actions.Errorf(actions.CodeTooLong, "username is longer than %d characters", MaxUsername)
	}
	return nil
}
