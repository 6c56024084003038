package middleware

import (
	"context"
	"runtime/debug"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Recover turns a panic in any later middleware into an actions.CodeInternal
// error for that action, and logs it with its stack. The action is not
// applied and the server keeps running. (The store itself recovers panics
// in reducers.) Put it first in the chain, so that it covers all the others.
func Recover(log zerolog.Logger) store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) (err error) {
			defer func() {
				if r := recover(); r != nil {
					log.Error().
						Str("type", a.Type).Str("room", a.Room).Str("session", a.Session).
						Interface("panic", r).Bytes("stack", debug.Stack()).
						Msg("middleware panicked; action dropped")
					err = &actions.Error{Code: actions.CodeInternal, Message: "internal server error"}
				}
			}()
			return next(ctx, a)
		}
	}
}
