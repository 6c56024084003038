package whatif

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/replay"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// Setup installs a program's own middleware on a store: the server's when
// it serves, the sandbox's in a what-if replay. It returns the middleware,
// outermost first, and stop, if not nil, to release what they hold (their
// goroutines); stop runs after the store closed.
type Setup func(st *store.Store[chat.State]) (mw []store.Middleware, stop func(), err error)

// Config names the recorded log and the chain to replay it through.
type Config struct {
	// Dir, NATS and Stream name the log as replay.Config does.
	Dir, NATS, Stream string
	// History is the server's (replay.Options).
	History int
	// Limits are the server's Validate limits.
	Limits middleware.Limits
	// Setup installs the program's middleware; nil: none.
	Setup Setup
	// Until stops the replay after a seq or a time, as replay's.
	Until replay.Until
}

// settle bounds how long Run waits, after the last recorded action, for
// the actions the program's middleware dispatches on its own.
const settle = 2 * time.Second

// Run replays the log c names through the chain in a sandbox and reports
// the differences.
func Run(ctx context.Context, c Config) (*Report, error) {
	l, err := replay.Config{Dir: c.Dir, NATS: c.NATS, Stream: c.Stream, History: c.History}.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return RunLog(ctx, l, c)
}

// RunLog is Run on a log opened already; c's Dir, NATS and Stream are
// unused.
func RunLog(ctx context.Context, l *replay.Log, c Config) (*Report, error) {
	from, _ := l.Start()
	start := chat.State{}
	if from > 0 {
		var err error
		if start, _, err = l.Fold(ctx, replay.Until{Seq: from}, nil); err != nil {
			return nil, err
		}
	}
	slog := newSandboxLog()
	slog.last = from
	st, err := store.Open(ctx, start, chat.NewReducer(chat.Options{History: c.History}),
		store.Options[chat.State]{Log: slog, Outcome: chat.OutcomeOf})
	if err != nil {
		return nil, err
	}
	var stop func()
	defer func() {
		st.Close()
		if stop != nil {
			stop()
		}
	}()
	var mw []store.Middleware
	if c.Setup != nil {
		if mw, stop, err = c.Setup(st); err != nil {
			return nil, err
		}
	}
	st.Use(append([]store.Middleware{middleware.Recover(zerolog.Nop()), middleware.Stamp(nil), middleware.Validate(c.Limits)}, mw...)...)
	rep := &Report{From: from + 1}
	recorded, last, err := l.Fold(ctx, c.Until, func(s *replay.Step) error {
		rep.Actions++
		return rep.dispatch(ctx, st, slog, s.Action)
	})
	if err != nil {
		return nil, err
	}
	rep.To = last
	waitQuiet(st)
	rep.Added = int(st.Seq()) - int(from) - (rep.Actions - len(rep.Rejected))
	rep.Added = max(rep.Added, 0)
	rep.State = compareStates(recorded, st.GetState())
	return rep, nil
}

// dispatch sends a copy of the recorded action rec through the sandbox
// and notes what the chain did with it.
func (rep *Report) dispatch(ctx context.Context, st *store.Store[chat.State], slog *sandboxLog, rec *actions.Action) error {
	a := &actions.Action{ID: rec.ID, Type: rec.Type, Room: rec.Room, Session: rec.Session, User: rec.User, At: rec.At, Payload: rec.Payload}
	slog.want(a.ID, rec.Seq)
	err := st.Dispatch(ctx, a)
	was := cloneAction(rec)
	switch {
	case errors.Is(err, store.ErrClosed), ctx.Err() != nil:
		return err
	case err != nil:
		r := Rejection{Seq: rec.Seq, Action: was, Code: actions.CodeInternal, Message: err.Error()}
		var e *actions.Error
		if errors.As(err, &e) {
			r.Code, r.Message = e.Code, e.Message
		}
		rep.Rejected = append(rep.Rejected, r)
	case !sameAction(rec, a) || rec.Outcome.Applied != a.Outcome.Applied:
		rep.Changed = append(rep.Changed, Change{Seq: rec.Seq, Recorded: was, Now: cloneAction(a)})
	}
	return nil
}

// sameAction reports whether a and b ask for the same thing.
func sameAction(a, b *actions.Action) bool {
	return a.Type == b.Type && a.Room == b.Room && a.Session == b.Session && a.User == b.User &&
		reflect.DeepEqual(a.Payload, b.Payload)
}

func cloneAction(a *actions.Action) *actions.Action {
	c := *a
	return &c
}

// waitQuiet waits until the sandbox's seq stayed the same for a while (the
// middleware's own dispatches arrived), at most settle.
func waitQuiet(st *store.Store[chat.State]) {
	deadline := time.Now().Add(settle)
	seq := st.Seq()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		now := st.Seq()
		if now == seq {
			return
		}
		seq = now
	}
}
