package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/statecast/statecast/store/file"
)

// repair runs `statecast repair`: it cuts a damaged action log at its
// first damage (see file.Repair), after asking on in unless -yes.
func repair(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("statecast repair", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: statecast repair -data DIR [-yes]\n\n"+
			"Cuts the action log at its first damaged record, once the server is stopped: it keeps a copy of\n"+
			"what it cuts in DIR/repair-<time> and reports the seqs lost.\n\nflags:")
		fs.PrintDefaults()
	}
	dir := fs.String("data", "", "the server's data `directory`")
	yes := fs.Bool("yes", false, "cut without asking")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return fmt.Errorf("repair takes -data DIR and no arguments")
	}
	answers := bufio.NewReader(in)
	c, err := file.Repair(*dir, func(c *file.Cut) bool {
		fmt.Fprintf(out, "%v\n\nthis cuts %d bytes: %s\nthe actions from seq %d on are lost (intact records up to seq %d)\n",
			c.Damage, c.Bytes, strings.Join(c.Files, ", "), c.FirstLost, c.LastLost)
		if *yes {
			return true
		}
		fmt.Fprint(out, "cut the log there? [y/N] ")
		line, _ := answers.ReadString('\n')
		return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes")
	})
	switch {
	case err != nil:
		return err
	case c == nil:
		fmt.Fprintln(out, "the log is intact: nothing to repair")
	case c.Backup == "":
		return fmt.Errorf("not repaired")
	default:
		fmt.Fprintf(out, "repaired: the log ends at seq %d; lost seqs %d to %d (at least); a copy of what was cut is in %s\n",
			c.Damage.LastGoodSeq, c.FirstLost, max(c.LastLost, c.FirstLost), c.Backup)
	}
	return nil
}
