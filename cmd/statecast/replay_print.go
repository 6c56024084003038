package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// printer writes replay's output as text or as JSON lines.
type printer struct {
	w    io.Writer
	c    replayConfig
	json *json.Encoder
}

func newPrinter(w io.Writer, c replayConfig) *printer {
	return &printer{w: w, c: c, json: json.NewEncoder(w)}
}

// actionLine is the JSON form of one listed action.
type actionLine struct {
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
	// Change is what an action of one room changed there, with -diff.
	Change *changeLine `json:"change,omitempty"`
	// Changes is what an action of every room (server/start, node/down)
	// changed, with -diff: the steps of chat.Diffs, room by room; [] when
	// it changed nothing visible.
	Changes *[]changeLine `json:"changes,omitempty"`
}

// changeLine is the JSON form of what an action changed in a room.
type changeLine struct {
	// Room is the room of a step of an action of every room.
	Room      string            `json:"room,omitempty"`
	Entered   *actions.User     `json:"entered,omitempty"`
	Left      *actions.User     `json:"left,omitempty"`
	Connected *chat.Session     `json:"connected,omitempty"`
	Closed    *chat.Session     `json:"closed,omitempty"`
	Appended  []actions.Message `json:"appended,omitempty"`
	Dropped   int               `json:"dropped,omitempty"`
}

func (p *printer) action(ch store.Change[chat.State]) error {
	a := ch.Action
	line := actionLine{Seq: a.Seq, At: a.At, Type: a.Type, Room: a.Room, User: a.User, Session: a.Session, ID: a.ID, Payload: a.Payload}
	switch pl := a.Payload.(type) {
	case actions.Open:
		line.Node, line.Payload = pl.Node, nil
	case actions.NodeDown:
		line.Node, line.Payload = pl.Node, nil
	}
	if g := granted(ch); g != "" && g != a.User {
		line.Granted = g
	}
	if p.c.diff {
		diffs := chat.Diffs(ch.Prev, ch.Next, a)
		if everyRoom(a) {
			steps := []changeLine{}
			for _, d := range diffs {
				if room := d.Next.Name(); p.c.room == "" || room == p.c.room {
					steps = append(steps, newChangeLine(room, d))
				}
			}
			line.Changes = &steps
		} else {
			line.Change = &changeLine{}
			if len(diffs) > 0 {
				*line.Change = newChangeLine("", diffs[0])
			}
		}
	}
	if p.c.format == "json" {
		return p.json.Encode(line)
	}
	refused := ""
	if line.Granted != "" {
		refused = " (claim refused: the socket got " + line.Granted + ")"
	}
	fmt.Fprintf(p.w, "%8d  %s  %-16s room=%s user=%s%s%s\n", a.Seq, a.At.Format(timeColumn), a.Type, a.Room, a.User, payloadText(a.Payload), refused)
	said := false
	if line.Change != nil {
		said = p.changeText(line.Change)
	}
	if line.Changes != nil {
		for _, c := range *line.Changes {
			said = p.changeText(&c) || said
		}
	}
	if !said && p.c.diff {
		fmt.Fprintf(p.w, "          (no visible change)\n")
	}
	return nil
}

// everyRoom reports whether a is an action of every room, whose changes
// chat.Diffs gives room by room.
func everyRoom(a *actions.Action) bool {
	return a.Type == actions.TypeServerStart || a.Type == actions.TypeNodeDown
}

// affects reports whether a, an action of every room, changed something
// visible in room.
func affects(ch store.Change[chat.State], room string) bool {
	for _, d := range chat.Diffs(ch.Prev, ch.Next, ch.Action) {
		if d.Next.Name() == room {
			return true
		}
	}
	return false
}

func newChangeLine(room string, d chat.RoomDiff) changeLine {
	return changeLine{room, d.Entered, d.Left, d.Connected, d.Closed, d.Appended, d.Dropped}
}

// timeColumn is RFC 3339 with all nine digits of the nanoseconds, so that
// the columns after it line up; -until-time takes it as it is.
const timeColumn = "2006-01-02T15:04:05.000000000Z07:00"

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
func (p *printer) changeText(c *changeLine) bool {
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

// roomLine is the JSON form of one room of the final state.
type roomLine struct {
	Seq      uint64            `json:"seq"`
	Room     string            `json:"room"`
	Users    []chat.Presence   `json:"users"`
	Sessions int               `json:"sockets"`
	Messages []actions.Message `json:"messages"`
}

// state prints the rooms of s (only -room, if given) after seq.
func (p *printer) state(s chat.State, seq uint64) error {
	if p.c.format == "text" {
		fmt.Fprintf(p.w, "state after seq %d\n", seq)
		if p.c.room != "" && s.Room(p.c.room) == nil {
			fmt.Fprintf(p.w, "\nroom %s: nothing happened in it\n", p.c.room)
		}
	}
	for _, name := range s.RoomNames() {
		if p.c.room != "" && name != p.c.room {
			continue
		}
		r := s.Room(name)
		line := roomLine{Seq: seq, Room: name, Users: r.Presences(), Sessions: r.SessionCount(), Messages: r.Messages()}
		if p.c.format == "json" {
			if err := p.json.Encode(line); err != nil {
				return err
			}
			continue
		}
		var users []string
		for _, u := range line.Users {
			s := fmt.Sprintf("%s (%s)", u.User.Username, u.User.ID)
			if u.LeftAt != 0 {
				s += fmt.Sprintf(" [in grace since seq %d]", u.LeftAt)
			}
			users = append(users, s)
		}
		fmt.Fprintf(p.w, "\nroom %s: %d users, %d open sockets, %d messages\n", name, len(users), line.Sessions, len(line.Messages))
		if len(users) == 0 {
			users = []string{"(none)"}
		}
		fmt.Fprintf(p.w, "  users: %s\n", strings.Join(users, ", "))
		for _, m := range line.Messages {
			fmt.Fprintf(p.w, "  %8d  %s  %s: %s\n", m.Seq, m.At.Format(time.RFC3339), m.Username, m.Message)
		}
	}
	return nil
}

// progressAuto is the least number of actions for which -progress auto
// draws the bar: a shorter log replays in a blink.
const progressAuto = 100_000

// progress draws a bar on standard error while a long log is read.
type progress struct {
	w     io.Writer // nil: no bar
	total uint64
	last  time.Time
	shown bool
}

// newProgress returns the bar of mode (auto, on or off) for a log of total
// actions, drawn on w. Auto draws it only for a long log, and only when w
// is a terminal and the listing of actions (listingToTerminal) does not go
// to one too, where the bar would tear its lines.
func newProgress(mode string, total uint64, w io.Writer, listingToTerminal bool) *progress {
	on := mode == "on" || mode == "auto" && total >= progressAuto && isTerminal(w) && !listingToTerminal
	if !on {
		w = nil
	}
	return &progress{w: w, total: max(total, 1)}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update shows that the action seq was read: the bar is drawn at once, then
// at most every 100 ms.
func (p *progress) update(seq uint64) {
	if p.w == nil || p.shown && (seq%1024 != 0 || time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last, p.shown = time.Now(), true
	const width = 40
	filled := min(int(seq*width/p.total), width)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), seq, p.total)
}

// done erases the bar.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
