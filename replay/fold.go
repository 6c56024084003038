package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// Until limits a fold: it stops after the action Seq (0: no limit) and
// before the first action after Time (zero: no limit), whichever comes
// first. A fold never reads past the log's LastSeq.
type Until struct {
	Seq  uint64
	Time time.Time
}

// Step is one action of a fold and the change it made. It is valid during
// the visit only: copy what you keep.
type Step struct {
	// Action is the action as logged, with its Outcome computed again
	// (chat.OutcomeOf): the id a connect got, whether anything changed.
	Action *actions.Action
	// Prev and Next are the states before and after it.
	Prev, Next chat.State

	diffs  []chat.RoomDiff
	diffed bool
}

// Diffs returns what the action changed, room by room (chat.Diffs): one
// diff for an action of one room, if anything visible changed, or the
// steps of an action of every room (server/start, node/down).
func (s *Step) Diffs() []chat.RoomDiff {
	if !s.diffed {
		s.diffs, s.diffed = chat.Diffs(s.Prev, s.Next, s.Action), true
	}
	return s.diffs
}

// changed reports whether the step changed something visible in room.
func (s *Step) changed(room string) bool {
	for _, d := range s.Diffs() {
		if d.Next.Name() == room {
			return true
		}
	}
	return false
}

// everyRoom reports whether a is an action of every room, whose changes
// chat.Diffs gives room by room.
func everyRoom(a *actions.Action) bool {
	return a.Type == actions.TypeServerStart || a.Type == actions.TypeNodeDown
}

// A LimitError is Fold's answer to a limit before the oldest state the log
// can rebuild (its older records were pruned or removed).
type LimitError struct {
	Until  Until
	Reason string
}

func (e *LimitError) Error() string {
	if e.Until.Seq != 0 {
		return fmt.Sprintf("until seq %d: %s", e.Until.Seq, e.Reason)
	}
	return fmt.Sprintf("until %s: %s", e.Until.Time.Format(time.RFC3339Nano), e.Reason)
}

// errStop ends a fold early without being an error.
var errStop = errors.New("stop")

// Fold folds the log from its start (see Start) up to until, calling
// visit, if not nil, with every action on the way; an error from visit
// stops the fold and is returned. It returns the state after the last
// action folded, and its seq. A limit that falls before the start is a
// *LimitError. (An until.Time before the start's first action is one only
// when the log's older records are gone: the fold cannot tell whether the
// time falls before them.)
func (l *Log) Fold(ctx context.Context, until Until, visit func(*Step) error) (chat.State, uint64, error) {
	if until.Seq != 0 && (until.Seq < l.from || until.Seq == l.from && !l.exact) {
		return l.start, l.from, &LimitError{Until: until, Reason: l.gone}
	}
	step := &Step{}
	state, seq, err := store.Fold(ctx, l.log, l.start, l.from, l.reduce, func(ch store.Change[chat.State]) error {
		a := ch.Action
		if a.Seq > l.last || until.Seq != 0 && a.Seq > until.Seq || !until.Time.IsZero() && a.At.After(until.Time) {
			if l.from > 0 && a.Seq == l.from+1 && until.Seq == 0 && a.Seq <= l.last {
				gone := l.gone
				if l.exact {
					gone += ", and it may be later"
				}
				return &LimitError{Until: until, Reason: gone}
			}
			return errStop
		}
		if visit == nil {
			return nil
		}
		a.Outcome = chat.OutcomeOf(ch.Prev, ch.Next, a)
		*step = Step{Action: a, Prev: ch.Prev, Next: ch.Next}
		return visit(step)
	})
	// errStop: the fold stopped before the first action past the limit,
	// so state and seq are those after the last action within it.
	if errors.Is(err, errStop) {
		err = nil
	}
	return state, seq, err
}

// Filter selects actions; its zero value selects every one.
type Filter struct {
	// Room selects the actions of this room, and the actions of every
	// room (server/start, node/down) that changed something visible in it.
	Room string
	// Type selects the actions of this type (for example message/write).
	Type string
	// User selects the actions of this user: those whose User it is, and
	// those whose Outcome.User it is (a connect whose claim was refused is
	// the user's under both the id it claimed and the id it got).
	User string
}

// Selects reports whether s passes every field of f that is set.
func (f Filter) Selects(s *Step) bool {
	a := s.Action
	return (f.Type == "" || a.Type == f.Type) &&
		(f.User == "" || a.User == f.User || a.Outcome.User == f.User) &&
		(f.Room == "" || a.Room == f.Room || everyRoom(a) && s.changed(f.Room))
}
