package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// LoggerOptions configure Logger. The zero value logs every applied action.
type LoggerOptions struct {
	// Sample, when positive, lets at most Sample lines of applied actions
	// per second through (a zerolog.BurstSampler); the rest are dropped.
	// Rejections and failures are never sampled away. Negative values make
	// Logger panic. Defaults to 0: every applied action is logged.
	Sample int
	// Fields, when set, adds fields of its own to every line, after the
	// built-in ones. It is called only for lines that are written, after
	// the action was applied or rejected; it must not modify the action nor
	// keep a or ev. Defaults to none.
	Fields func(a *actions.Action, ev *zerolog.Event)
}

// Logger writes one debug line per applied action and one warning line per
// rejected or failed one. Every line carries the action's seq, type, room,
// session, user, id (action), how long the rest of the chain took (took)
// and a summary of its payload: a username, a message's length in bytes
// (msg_len) and clientId, an expiry's since. Message texts are never logged.
// Warnings add the error code, its ref, and the close code if any.
//
// A logger at info costs one level check per applied action. At debug, a
// busy server writes a line per action; opts.Sample bounds that rate.
//
// Put it after Stamp, so that every line has the action's id, and before
// the middleware that reject, so that their rejections are logged.
func Logger(log zerolog.Logger, opts LoggerOptions) store.Middleware {
	if opts.Sample < 0 {
		panic(fmt.Sprintf("middleware.Logger: Sample is %d, want 0 (no sampling) or more", opts.Sample))
	}
	applied := log
	if opts.Sample > 0 {
		applied = log.Sample(&zerolog.BurstSampler{Burst: uint32(opts.Sample), Period: time.Second})
	}
	// Reading the clock costs as much as a few middleware hops: only a
	// logger that can write lines at debug level times the actions.
	timed := log.GetLevel() <= zerolog.DebugLevel && zerolog.GlobalLevel() <= zerolog.DebugLevel
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			var start time.Time
			if timed {
				start = time.Now()
			}
			err := next(ctx, a)
			var ev *zerolog.Event
			if err == nil {
				ev = applied.Debug()
			} else {
				ev = log.Warn()
			}
			if !ev.Enabled() {
				return err
			}
			if err != nil {
				e := actions.AsError(err)
				ev.Str("code", e.Code).AnErr("error", err)
				if e.Ref != "" {
					ev.Str("ref", e.Ref)
				}
				if e.Close != 0 {
					ev.Int("close", e.Close)
				}
			}
			ev.Uint64("seq", a.Seq).Str("type", a.Type).Str("room", a.Room).
				Str("session", a.Session).Str("user", a.User).Str("action", a.ID)
			if timed {
				ev.Dur("took", time.Since(start))
			}
			summarize(ev, a.Payload)
			if opts.Fields != nil {
				opts.Fields(a, ev)
			}
			ev.Msg("action")
			return err
		}
	}
}

// summarize adds the payload's fields to ev, without any message text.
func summarize(ev *zerolog.Event, payload any) {
	switch p := payload.(type) {
	case actions.Connect:
		ev.Str("username", p.Username)
	case actions.WriteMessage:
		ev.Int("msg_len", len(p.Message))
		if p.ClientID != "" {
			ev.Str("client_id", p.ClientID)
		}
	case actions.PostMessage:
		ev.Str("username", p.Username).Int("msg_len", len(p.Message))
	case actions.Expire:
		ev.Uint64("since", p.Since)
	case actions.Open:
		if p.Node != "" {
			ev.Str("node", p.Node)
		}
	case actions.NodeDown:
		ev.Str("node", p.Node)
	}
}
