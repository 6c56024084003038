package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/statecast/statecast/server"
)

// TestVersionCommand: `statecast version` and `statecast -version` print
// the build's one line and start nothing; extra arguments are refused.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	want := server.Version().String() + "\n"
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		var out bytes.Buffer
		if err := Main(context.Background(), args, nil, Output(&out, io.Discard)); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if out.String() != want || !strings.HasPrefix(want, "statecast ") {
			t.Fatalf("%v printed %q, want %q", args, out.String(), want)
		}
	}
	if err := Main(context.Background(), []string{"version", "now"}, nil, Output(io.Discard, io.Discard)); err == nil {
		t.Fatal("version with an argument: no error")
	}
}
