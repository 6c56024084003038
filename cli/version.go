package cli

import (
	"context"
	"fmt"

	"github.com/statecast/statecast/server"
)

// runVersion prints the build's line (see server.BuildInfo.String): the
// module version, the VCS commit and its time, the Go version.
func (p *program) runVersion(_ context.Context, args, _ []string) error {
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments")
	}
	_, err := fmt.Fprintln(p.out, server.Version())
	return err
}
