package replay

import (
	"fmt"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// ActionLine is the JSON form of one action of a listing.
type ActionLine struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Room    string    `json:"room,omitempty"`
	User    string    `json:"user,omitempty"`
	Session string    `json:"session,omitempty"`
	ID      string    `json:"id,omitempty"`
	// Node is the node of a session/open in cluster mode, or the node a
	// node/down names: the one field of their payloads, which the line
	// then omits.
	Node    string `json:"node,omitempty"`
	Payload any    `json:"payload,omitempty"`
	// Granted is the id a connect's socket got, when its claim of User was
	// refused.
	Granted string `json:"granted,omitempty"`
	// Change is what an action of one room changed there, with diff.
	Change *ChangeLine `json:"change,omitempty"`
	// Changes is what an action of every room (server/start, node/down)
	// changed, with diff: the steps of chat.Diffs, room by room; [] when
	// it changed nothing visible.
	Changes *[]ChangeLine `json:"changes,omitempty"`
}

// ChangeLine is the JSON form of what an action changed in a room.
type ChangeLine struct {
	// Room is the room of a step of an action of every room.
	Room      string            `json:"room,omitempty"`
	Entered   *actions.User     `json:"entered,omitempty"`
	Left      *actions.User     `json:"left,omitempty"`
	Connected *chat.Session     `json:"connected,omitempty"`
	Closed    *chat.Session     `json:"closed,omitempty"`
	Appended  []actions.Message `json:"appended,omitempty"`
	Dropped   int               `json:"dropped,omitempty"`
}

func newChangeLine(room string, d chat.RoomDiff) ChangeLine {
	return ChangeLine{room, d.Entered, d.Left, d.Connected, d.Closed, d.Appended, d.Dropped}
}

// Line returns the ActionLine of s, with its change when diff is set (of
// room only, for an action of every room, when room is set).
func (s *Step) Line(diff bool, room string) ActionLine {
	a := s.Action
	line := ActionLine{Seq: a.Seq, At: a.At, Type: a.Type, Room: a.Room, User: a.User, Session: a.Session, ID: a.ID, Payload: a.Payload}
	switch pl := a.Payload.(type) {
	case actions.Open:
		line.Node, line.Payload = pl.Node, nil
	case actions.NodeDown:
		line.Node, line.Payload = pl.Node, nil
	}
	if a.Type == actions.TypeConnect && a.Outcome.User != a.User {
		line.Granted = a.Outcome.User
	}
	if !diff {
		return line
	}
	if everyRoom(a) {
		steps := []ChangeLine{}
		for _, d := range s.Diffs() {
			if name := d.Next.Name(); room == "" || name == room {
				steps = append(steps, newChangeLine(name, d))
			}
		}
		line.Changes = &steps
	} else {
		line.Change = &ChangeLine{}
		if d := s.Diffs(); len(d) > 0 {
			*line.Change = newChangeLine("", d[0])
		}
	}
	return line
}

// TimeColumn is the layout of an action's time in a text listing: RFC 3339
// with all nine digits of the nanoseconds, so that the columns after it
// line up. time.RFC3339Nano parses it.
const TimeColumn = "2006-01-02T15:04:05.000000000Z07:00"

// Step prints one action of a listing.
func (p *Printer) Step(s *Step) error {
	line := s.Line(p.diff, p.room)
	if p.json != nil {
		return p.json.Encode(line)
	}
	a := s.Action
	refused := ""
	if line.Granted != "" {
		refused = " (claim refused: the socket got " + line.Granted + ")"
	}
	fmt.Fprintf(p.w, "%8d  %s  %-16s room=%s user=%s%s%s\n", a.Seq, a.At.Format(TimeColumn), a.Type, a.Room, a.User, payloadText(a.Payload), refused)
	said := false
	if line.Change != nil {
		said = p.changeText(line.Change)
	}
	if line.Changes != nil {
		for _, c := range *line.Changes {
			said = p.changeText(&c) || said
		}
	}
	if !said && p.diff {
		fmt.Fprintf(p.w, "          (no visible change)\n")
	}
	return nil
}

func payloadText(p any) string {
	switch p := p.(type) {
	case nil:
		return ""
	case actions.Connect:
		return fmt.Sprintf(" username=%q", p.Username)
	case actions.WriteMessage:
		s := fmt.Sprintf(" message=%q", p.Message)
		if p.ClientID != "" {
			s += fmt.Sprintf(" clientId=%q", p.ClientID)
		}
		return s
	case actions.PostMessage:
		return fmt.Sprintf(" username=%q message=%q", p.Username, p.Message)
	case actions.Expire:
		return fmt.Sprintf(" since=%d", p.Since)
	case actions.Open:
		if p.Node == "" { // a single server's socket
			return ""
		}
		return " node=" + p.Node
	case actions.NodeDown:
		return " node=" + p.Node
	}
	return fmt.Sprintf(" payload=%+v", p)
}

// changeText writes the lines of c, each with the room when c is a step
// of an action of every room, and reports whether it wrote any.
func (p *Printer) changeText(c *ChangeLine) bool {
	said := false
	indent := "          "
	if c.Room != "" {
		indent += "room " + c.Room + ": "
	}
	say := func(format string, args ...any) {
		said = true
		fmt.Fprintf(p.w, indent+format+"\n", args...)
	}
	if c.Entered != nil {
		say("+ user %s (%s) entered the user list", c.Entered.ID, c.Entered.Username)
	}
	if c.Connected != nil {
		say("+ socket %s connected as %s", c.Connected.ID, c.Connected.UserID)
	}
	if c.Closed != nil {
		say("- socket %s of %s closed", c.Closed.ID, c.Closed.UserID)
	}
	if c.Left != nil {
		say("- user %s (%s) left the user list", c.Left.ID, c.Left.Username)
	}
	for _, m := range c.Appended {
		say("+ message %d %s: %q", m.Seq, m.Username, m.Message)
	}
	switch {
	case c.Dropped == 1:
		say("- the oldest message left the window")
	case c.Dropped > 1:
		say("- the %d oldest messages left the window", c.Dropped)
	}
	return said
}
