package replay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/statecast/statecast/store/chat"
)

// Config is everything Run does, as `statecast replay` is told it.
type Config struct {
	// Dir is the data directory whose log Run reads, unless NATS is set.
	Dir string
	// NATS, if set, names the NATS servers (comma-separated URLs) of a
	// cluster whose log, the JetStream stream Stream, Run reads instead.
	NATS, Stream string
	// History is the servers' (see Options).
	History int
	// Until, Filter and Diff say what to print: the state after Until
	// (only Filter.Room, if set) or, when Listing, the actions up to it
	// that Filter selects, each with its change when Diff is set.
	Until  Until
	Filter Filter
	Diff   bool
	Format Format
	// Verify compares the state rebuilt from the log with every snapshot
	// instead (see Log.Verify).
	Verify bool
	// Progress is the mode of the bar drawn on errOut: "auto" (the
	// default), "on" or "off"; see NewProgress.
	Progress string
	// Name prefixes the notes written to errOut. Defaults to "replay".
	Name string
}

// Listing reports whether c lists actions rather than print a state.
func (c Config) Listing() bool { return c.Diff || c.Filter.Type != "" || c.Filter.User != "" }

// Open opens the log that c names (OpenStream or OpenDir).
func (c Config) Open(ctx context.Context) (*Log, error) {
	if c.NATS != "" {
		return OpenStream(ctx, c.NATS, c.Stream, Options{History: c.History})
	}
	return OpenDir(c.Dir, Options{History: c.History})
}

// Run opens the log c names, writes to out what c asks for, and closes
// the log; the note of Log.Note and the progress bar go to errOut. While
// it runs, the process's GC target is raised (a fold makes a state per
// action and drops it at once: it runs about a third faster).
func Run(ctx context.Context, c Config, out, errOut io.Writer) (err error) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	l, err := c.Open(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	w := bufio.NewWriterSize(out, 64<<10)
	defer func() {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}()
	total := l.LastSeq()
	if c.Until.Seq != 0 && !c.Verify {
		total = min(total, c.Until.Seq)
	}
	mode := c.Progress
	if mode == "" {
		mode = "auto"
	}
	bar := NewProgress(mode, total, errOut, c.Listing() && IsTerminal(out))
	defer bar.Done()
	if note := l.Note(); note != "" {
		name := c.Name
		if name == "" {
			name = "replay"
		}
		fmt.Fprintln(errOut, name+": "+note)
	}
	p := NewPrinter(w, c.Format, c.Filter.Room, c.Diff)
	if c.Verify {
		v, err := l.Verify(ctx, p.Check, bar.Update)
		if err != nil {
			return err
		}
		bar.Done()
		p.Verified(v)
		return nil
	}
	var state chat.State
	var seq uint64
	state, seq, err = l.Fold(ctx, c.Until, func(s *Step) error {
		bar.Update(s.Action.Seq)
		if c.Listing() && c.Filter.Selects(s) {
			return p.Step(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	bar.Done()
	if c.Listing() {
		return nil
	}
	return p.State(state, seq)
}
