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
	Seq     uint64      `json:"seq"`
	At      time.Time   `json:"at"`
	Type    string      `json:"type"`
	Room    string      `json:"room,omitempty"`
	User    string      `json:"user,omitempty"`
	Session string      `json:"session,omitempty"`
	ID      string      `json:"id,omitempty"`
	Payload any         `json:"payload,omitempty"`
	Change  *changeLine `json:"change,omitempty"`
}

// changeLine is the JSON form of what an action changed in its room.
type changeLine struct {
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
	if p.c.diff {
		d := chat.Diff(ch.Prev, ch.Next, a)
		line.Change = &changeLine{d.Entered, d.Left, d.Connected, d.Closed, d.Appended, d.Dropped}
	}
	if p.c.format == "json" {
		return p.json.Encode(line)
	}
	fmt.Fprintf(p.w, "%8d  %s  %-16s room=%s user=%s%s\n", a.Seq, a.At.Format(time.RFC3339Nano), a.Type, a.Room, a.User, payloadText(a.Payload))
	if line.Change != nil {
		p.changeText(line.Change)
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
	case actions.Expire:
		return fmt.Sprintf(" since=%d", p.Since)
	}
	return fmt.Sprintf(" payload=%+v", p)
}

func (p *printer) changeText(c *changeLine) {
	said := false
	say := func(format string, args ...any) {
		said = true
		fmt.Fprintf(p.w, "          "+format+"\n", args...)
	}
	if c.Entered != nil {
		say("+ user %s (%s) entered the user list", c.Entered.ID, c.Entered.Username)
	}
	if c.Left != nil {
		say("- user %s (%s) left the user list", c.Left.ID, c.Left.Username)
	}
	if c.Connected != nil {
		say("+ socket %s connected as %s", c.Connected.ID, c.Connected.UserID)
	}
	if c.Closed != nil {
		say("- socket %s of %s closed", c.Closed.ID, c.Closed.UserID)
	}
	for _, m := range c.Appended {
		say("+ message %d %s: %q", m.Seq, m.Username, m.Message)
	}
	if c.Dropped > 0 {
		say("- %d oldest messages left the window", c.Dropped)
	}
	if !said {
		say("(no visible change)")
	}
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
		fmt.Fprintf(p.w, "  users: %s\n", strings.Join(users, ", "))
		for _, m := range line.Messages {
			fmt.Fprintf(p.w, "  %8d  %s  %s: %s\n", m.Seq, m.At.Format(time.RFC3339), m.Username, m.Message)
		}
	}
	return nil
}

// progress draws a bar on standard error while a long log is read.
type progress struct {
	on    bool
	total uint64
	last  time.Time
	shown bool
}

func newProgress(mode string, total uint64) *progress {
	on := mode == "on"
	if mode == "auto" {
		fi, err := os.Stderr.Stat()
		on = err == nil && fi.Mode()&os.ModeCharDevice != 0 && total > 100_000
	}
	return &progress{on: on, total: max(total, 1)}
}

func (p *progress) update(seq uint64) {
	if !p.on || seq%4096 != 0 || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = time.Now(), true
	const width = 40
	filled := int(seq * width / p.total)
	fmt.Fprintf(os.Stderr, "\r[%s%s] %d/%d", strings.Repeat("#", min(filled, width)), strings.Repeat(".", width-min(filled, width)), seq, p.total)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(os.Stderr, "\r\033[K")
		p.shown = false
	}
}
