package middleware

import (
	"context"
	"unicode/utf8"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Limits are the sizes Validate enforces, in Unicode code points. Zero
// values mean the defaults.
type Limits struct {
	// Username defaults to 64, the protocol's limit.
	Username int
	// Message defaults to 16384.
	Message int
	// ID, the longest user id, defaults to 128.
	ID int
	// ClientID, the longest idempotency key, defaults to 128.
	ClientID int
}

func (l Limits) withDefaults() Limits {
	for _, f := range []struct {
		v *int
		d int
	}{{&l.Username, 64}, {&l.Message, 16384}, {&l.ID, 128}, {&l.ClientID, 128}} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	return l
}

// Validate rejects actions whose fields break the limits, each violation
// with its own error code: a room name outside [A-Za-z0-9_-]{1,64}
// (invalid_room), a missing user id or username (missing_field), fields
// that are not valid UTF-8 (invalid_utf8), and a username, message, user id
// or clientId longer than its limit (username_too_long, message_too_long,
// id_too_long, client_id_too_long). It checks the actions that clients
// cause and those that server code dispatches alike. The shapes of frames
// (JSON types, missing fields) are checked earlier, by the decoder. Put it
// after Logger, so that rejections are logged.
func Validate(limits Limits) store.Middleware {
	l := limits.withDefaults()
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if err := l.check(a); err != nil {
				return err
			}
			return next(ctx, a)
		}
	}
}

func (l Limits) check(a *actions.Action) *actions.Error {
	switch a.Type {
	case actions.TypeServerStart:
		return nil
	case actions.TypeNodeDown:
		if p, _ := a.Payload.(actions.NodeDown); p.Node == "" {
			return actions.Errorf(actions.CodeMissingField, "node/down needs the id of the node")
		}
		return nil
	}
	if !actions.ValidRoom(a.Room) {
		return actions.Errorf(actions.CodeInvalidRoom, "room names are 1 to 64 characters of A-Z a-z 0-9 _ -")
	}
	switch p := a.Payload.(type) {
	case actions.Connect:
		if a.User == "" || p.Username == "" {
			return refd(actions.Errorf(actions.CodeMissingField, "connecting needs a user id and a non-empty username"), actions.EventConnecting)
		}
		return refd(firstOf(
			text(a.User, l.ID, actions.CodeIDTooLong, "id"),
			text(p.Username, l.Username, actions.CodeUsernameTooLong, "username"),
		), actions.EventConnecting)
	case actions.WriteMessage:
		return refd(firstOf(
			text(p.Message, l.Message, actions.CodeMessageTooLong, "message"),
			text(p.ClientID, l.ClientID, actions.CodeClientIDTooLong, "clientId"),
		), actions.EventWriteMessage)
	case actions.PostMessage:
		return firstOf(
			text(p.Username, l.Username, actions.CodeUsernameTooLong, "username"),
			text(p.Message, l.Message, actions.CodeMessageTooLong, "message"),
		)
	}
	return nil
}

// text checks that s is valid UTF-8 of at most max code points. It counts
// the code points only of a text longer than max bytes: a shorter one
// cannot hold more.
func text(s string, max int, code, field string) *actions.Error {
	switch {
	case !utf8.ValidString(s):
		return actions.Errorf(actions.CodeInvalidUTF8, "%s is not valid UTF-8", field)
	case len(s) > max && utf8.RuneCountInString(s) > max:
		return actions.Errorf(code, "%s is longer than %d characters", field, max)
	}
	return nil
}

func firstOf(errs ...*actions.Error) *actions.Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func refd(e *actions.Error, ref string) *actions.Error {
	if e != nil {
		e.Ref = ref
	}
	return e
}
