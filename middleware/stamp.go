package middleware

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Stamp gives each action its ID (a time-ordered UUIDv7) and its time At,
// unless they are set already: the clock and the ids enter the state here,
// as action fields, so that reducers stay pure and replays exact.
// now is the clock; nil means time.Now. Put it right after Recover.
func Stamp(now func() time.Time) store.Middleware {
	if now == nil {
		now = time.Now
	}
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if a.At.IsZero() {
				a.At = now().UTC()
			}
			if a.ID == "" {
				id, err := uuid.NewV7()
				if err != nil {
					return err
				}
				a.ID = id.String()
			}
			return next(ctx, a)
		}
	}
}
