package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

// Format is how a Printer writes.
type Format int

const (
	// Text is for people: a line per action, or a block per room.
	Text Format = iota
	// JSON is one object per line: an ActionLine per action, or a
	// RoomLine per room.
	JSON
)

// Printer writes what a fold shows, as `statecast replay` prints it.
type Printer struct {
	w    io.Writer
	json *json.Encoder // nil for Text
	room string
	diff bool
}

// NewPrinter returns a Printer writing to w in format f. With room set it
// prints only that room, of states and of the changes of actions of every
// room; with diff, each action with the change it made.
func NewPrinter(w io.Writer, f Format, room string, diff bool) *Printer {
	p := &Printer{w: w, room: room, diff: diff}
	if f == JSON {
		p.json = json.NewEncoder(w)
	}
	return p
}

// RoomLine is the JSON form of one room of a state.
type RoomLine struct {
	Seq      uint64            `json:"seq"`
	Room     string            `json:"room"`
	Users    []chat.Presence   `json:"users"`
	Sessions int               `json:"sockets"`
	Messages []actions.Message `json:"messages"`
}

// State prints the rooms of s, the state after seq.
func (p *Printer) State(s chat.State, seq uint64) error {
	if p.json == nil {
		fmt.Fprintf(p.w, "state after seq %d\n", seq)
		if p.room != "" && s.Room(p.room) == nil {
			fmt.Fprintf(p.w, "\nroom %s: nothing happened in it\n", p.room)
		}
	}
	for _, name := range s.RoomNames() {
		if p.room != "" && name != p.room {
			continue
		}
		r := s.Room(name)
		line := RoomLine{Seq: seq, Room: name, Users: r.Presences(), Sessions: r.SessionCount(), Messages: r.Messages()}
		if p.json != nil {
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

// Check prints the verdict on one snapshot, a line of Log.Verify.
func (p *Printer) Check(c Check) {
	fmt.Fprintf(p.w, "snapshot %d: %s\n", c.Seq, c.Verdict)
}

// Verified prints Verify's conclusion: how many snapshots agreed with the
// log, of listed snapshots in all.
func (p *Printer) Verified(r Verification) {
	if r.Listed == 0 {
		fmt.Fprintln(p.w, "no snapshots to verify against")
		return
	}
	fmt.Fprintf(p.w, "verified %d snapshots\n", r.Checked)
}
