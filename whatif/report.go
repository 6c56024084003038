package whatif

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/statecast/statecast/actions"
)

// Report is what a what-if replay found.
type Report struct {
	// Actions is how many recorded actions were replayed: seqs From to To.
	Actions  int    `json:"actions"`
	From, To uint64 `json:"-"`
	// Rejected lists the recorded actions the chain now refuses, in order.
	Rejected []Rejection `json:"rejected"`
	// Changed lists the recorded actions the chain now lets through
	// otherwise (another payload, user or room), or that the reducer now
	// applies where it ignored them, or the other way round.
	Changed []Change `json:"changed"`
	// Added counts the actions the program's middleware dispatched on its
	// own during the replay (a bot's answers, for example).
	Added int `json:"added"`
	// State lists the rooms whose final state differs from the recorded
	// one, by name.
	State []RoomDifference `json:"state"`
}

// Rejection is a recorded action the chain now refuses, and why.
type Rejection struct {
	Seq     uint64          `json:"seq"`
	Action  *actions.Action `json:"action"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// Change is a recorded action as it was and as the chain now applies it.
type Change struct {
	Seq      uint64          `json:"seq"`
	Recorded *actions.Action `json:"recorded"`
	Now      *actions.Action `json:"now"`
}

// Same reports whether the replay found no difference at all.
func (r *Report) Same() bool {
	return len(r.Rejected) == 0 && len(r.Changed) == 0 && r.Added == 0 && len(r.State) == 0
}

// JSON writes r as one JSON object.
func (r *Report) JSON(w io.Writer) error {
	type wire struct {
		*Report
		From uint64 `json:"from"`
		To   uint64 `json:"to"`
	}
	return json.NewEncoder(w).Encode(wire{r, r.From, r.To})
}

// Print writes r as text, one line per finding.
func (r *Report) Print(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "replayed %d recorded actions (seq %d to %d) through the current middleware\n", r.Actions, r.From, r.To)
	if r.Same() {
		b.WriteString("no difference: the chain lets every action through unchanged, and the final state is the recorded one\n")
	}
	if len(r.Rejected) > 0 {
		fmt.Fprintf(&b, "rejected now (%d):\n", len(r.Rejected))
		for _, x := range r.Rejected {
			fmt.Fprintf(&b, "  seq %d %s: %s: %s\n", x.Seq, describe(x.Action), x.Code, x.Message)
		}
	}
	if len(r.Changed) > 0 {
		fmt.Fprintf(&b, "changed now (%d):\n", len(r.Changed))
		for _, x := range r.Changed {
			fmt.Fprintf(&b, "  seq %d %s\n    now %s\n", x.Seq, describe(x.Recorded), describe(x.Now))
			if x.Recorded.Outcome.Applied != x.Now.Outcome.Applied {
				fmt.Fprintf(&b, "    applied: was %t, now %t\n", x.Recorded.Outcome.Applied, x.Now.Outcome.Applied)
			}
		}
	}
	if r.Added > 0 {
		fmt.Fprintf(&b, "the middleware dispatched %d actions of its own\n", r.Added)
	}
	if len(r.State) > 0 {
		fmt.Fprintf(&b, "final state differs in %d rooms:\n", len(r.State))
		for _, d := range r.State {
			d.print(&b)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe is a one-line account of a: its type, room, user and what it
// carries.
func describe(a *actions.Action) string {
	s := a.Type
	if a.Room != "" {
		s += " room " + a.Room
	}
	if a.User != "" {
		s += " user " + a.User
	}
	switch p := a.Payload.(type) {
	case actions.WriteMessage:
		s += fmt.Sprintf(" %q", p.Message)
	case actions.PostMessage:
		s += fmt.Sprintf(" %q", p.Message)
	case actions.Connect:
		s += fmt.Sprintf(" as %q", p.Username)
	}
	return s
}
