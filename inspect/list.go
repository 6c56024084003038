package inspect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Entry is one action of the timeline.
type Entry struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Room    string    `json:"room,omitempty"`
	User    string    `json:"user,omitempty"`
	Session string    `json:"session,omitempty"`
	// Summary is one line on what the action asked for.
	Summary string `json:"summary"`
}

// Query selects and pages the timeline. Room, Type and User must match
// exactly (an action of every room, server/start or node/down, matches
// every Room); Text is looked for in the summary, ignoring case.
type Query struct {
	Room, Type, User, Text string
	// After, if set, asks for the first matches after this seq; otherwise
	// Before asks for the last matches before it (0: the end of the log).
	After, Before uint64
	Limit         int
}

// Page is one page of the timeline, oldest first.
type Page struct {
	Actions []Entry `json:"actions"`
	// Older is the Before of the page before this one, 0 at the start of
	// the log; Newer is the After of the page after it.
	Older uint64 `json:"older"`
	Newer uint64 `json:"newer"`
	// Last is the log's last seq.
	Last uint64 `json:"last"`
}

func (q Query) selects(a *actions.Action) bool {
	every := a.Type == actions.TypeServerStart || a.Type == actions.TypeNodeDown
	return (q.Room == "" || a.Room == q.Room || every) && (q.Type == "" || a.Type == q.Type) &&
		(q.User == "" || a.User == q.User) &&
		(q.Text == "" || strings.Contains(strings.ToLower(summary(a)), strings.ToLower(q.Text)))
}

// list returns the page q asks for. A page that would read more than
// maxReadRecords records ends early, with cursors to go on from.
func (e *engine) list(ctx context.Context, q Query) (Page, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	from, last, err := e.bounds(ctx)
	if err != nil {
		return Page{}, err
	}
	p := Page{Last: last, Actions: []Entry{}}
	if q.After != 0 {
		return e.listForward(ctx, q, p)
	}
	before := q.Before
	if before == 0 || before > last+1 {
		before = last + 1
	}
	p.Newer = before - 1
	read := 0
	for window := uint64(4 * q.Limit); before > from+1 && read < maxReadRecords; window *= 4 {
		lo := max(before-min(window, before), from+1)
		var got []Entry
		err := e.readRange(ctx, lo, before-1, func(a *actions.Action) {
			read++
			if q.selects(a) {
				got = append(got, entryOf(a))
			}
		})
		if err != nil {
			return p, err
		}
		p.Actions = append(got, p.Actions...)
		before = lo
		if len(p.Actions) >= q.Limit {
			p.Actions = p.Actions[len(p.Actions)-q.Limit:]
			before = p.Actions[0].Seq
			break
		}
	}
	if before > from+1 {
		p.Older = before
	}
	return p, nil
}

// listForward returns the first matches after q.After: from the index's
// memory as far as it goes, then from the log.
func (e *engine) listForward(ctx context.Context, q Query, p Page) (Page, error) {
	read := 0
	p.Older, p.Newer = q.After+1, q.After
	visit := func(a *actions.Action) error {
		read++
		p.Newer = a.Seq
		if q.selects(a) {
			p.Actions = append(p.Actions, entryOf(a))
		}
		if len(p.Actions) >= q.Limit || read >= maxReadRecords {
			return errStop
		}
		return nil
	}
	tip, _ := e.idx.tipState()
	if ok, err := e.idx.scan(q.After+1, tip.seq, visit); ok && tip.seq > q.After {
		p.Last = max(p.Last, tip.seq)
		if err != nil || p.Newer >= e.feed.lastSeq() {
			if errors.Is(err, errStop) {
				err = nil
			}
			return p, err
		}
	}
	err := e.withLog(ctx, p.Newer+1, func(log store.Log, _ store.SnapshotLister) error {
		p.Last = max(p.Last, log.LastSeq())
		return log.Read(ctx, p.Newer+1, visit)
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return p, err
}

// readRange calls fn for the records from lo to hi: from the index's
// memory when it holds them, else from the log.
func (e *engine) readRange(ctx context.Context, lo, hi uint64, fn func(*actions.Action)) error {
	if ok, err := e.idx.scan(lo, hi, func(a *actions.Action) error { fn(a); return nil }); ok {
		return err
	}
	err := e.withLog(ctx, hi, func(log store.Log, _ store.SnapshotLister) error {
		return log.Read(ctx, lo, func(a *actions.Action) error {
			if a.Seq > hi {
				return errStop
			}
			fn(a)
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return err
}

// seqAt returns the seq of the last action at or before t, 0 if none.
func (e *engine) seqAt(ctx context.Context, t time.Time) (uint64, error) {
	cp, _ := e.idx.atOrBefore(t)
	seq := cp.seq
	err := e.withLog(ctx, cp.seq+1, func(log store.Log, _ store.SnapshotLister) error {
		return log.Read(ctx, cp.seq+1, func(a *actions.Action) error {
			if a.At.After(t) {
				return errStop
			}
			seq = a.Seq
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return seq, err
}

func entryOf(a *actions.Action) Entry {
	return Entry{Seq: a.Seq, At: a.At, Type: a.Type, Room: a.Room, User: a.User, Session: a.Session, Summary: summary(a)}
}

// summary is one line on what a asked for.
func summary(a *actions.Action) string {
	var s string
	switch p := a.Payload.(type) {
	case actions.WriteMessage:
		s = fmt.Sprintf("writes %q", p.Message)
	case actions.PostMessage:
		s = fmt.Sprintf("%s posts %q", p.Username, p.Message)
	case actions.Connect:
		s = fmt.Sprintf("connects as %q", p.Username)
	case actions.NodeDown:
		s = fmt.Sprintf("node %q is gone: its sockets close", p.Node)
	default:
		switch a.Type {
		case actions.TypeOpenSession:
			s = "a socket opens"
		case actions.TypeCloseSession:
			s = "the socket closes"
		case actions.TypeExpirePresence:
			s = "a grace period ends"
		case actions.TypeServerStart:
			s = "the server starts: the sockets of its previous run close"
		default:
			s = a.Type
		}
	}
	if r := []rune(s); len(r) > 160 {
		s = string(r[:159]) + "…"
	}
	return s
}
