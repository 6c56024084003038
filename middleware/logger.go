package middleware

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Logger writes one debug line per applied action (seq, type, room, session,
// user, duration) and one warning line per rejected one, with its error
// code. Message texts are never logged. It logs at the level the logger
// allows, so a logger at info costs one level check per action.
// Put it after Stamp, so that every line has the action's id.
func Logger(log zerolog.Logger) store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			start := time.Now()
			err := next(ctx, a)
			ev := log.Debug()
			if err != nil {
				ev = log.Warn().Str("code", actions.AsError(err).Code).AnErr("error", err)
			}
			if ev.Enabled() {
				ev.Uint64("seq", a.Seq).Str("type", a.Type).Str("room", a.Room).
					Str("session", a.Session).Str("user", a.User).Str("action", a.ID).
					Dur("took", time.Since(start)).Msg("action")
			}
			return err
		}
	}
}
