package replay

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ProgressAuto is the least number of actions for which the progress mode
// "auto" draws the bar: a shorter log replays in a blink.
const ProgressAuto = 100_000

// Progress draws a bar, on a terminal usually, while a long log is read.
// A nil *Progress draws nothing.
type Progress struct {
	w     io.Writer // nil: no bar
	total uint64
	last  time.Time
	shown bool
}

// NewProgress returns the bar of mode ("auto", "on" or "off") for a log of
// total actions, drawn on w. Auto draws it only for a long log (at least
// ProgressAuto actions), and only when w is a terminal and the listing of
// actions does not go to one too (listingToTerminal), where the bar would
// tear its lines.
func NewProgress(mode string, total uint64, w io.Writer, listingToTerminal bool) *Progress {
	on := mode == "on" || mode == "auto" && total >= ProgressAuto && IsTerminal(w) && !listingToTerminal
	if !on {
		w = nil
	}
	return &Progress{w: w, total: max(total, 1)}
}

// Drawn reports whether the bar is drawn at all.
func (p *Progress) Drawn() bool { return p != nil && p.w != nil }

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update shows that the action seq was read: the bar is drawn at once, then
// at most every 100 ms.
func (p *Progress) Update(seq uint64) {
	if !p.Drawn() || p.shown && (seq%1024 != 0 || time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last, p.shown = time.Now(), true
	const width = 40
	filled := min(int(seq*width/p.total), width)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), seq, p.total)
}

// Done erases the bar.
func (p *Progress) Done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
