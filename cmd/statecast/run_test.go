package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestRunCommands: statecast has the commands of package cli and bench;
// an unknown command is refused with the usage.
func TestRunCommands(t *testing.T) {
	err := Run(context.Background(), []string{"frobnicate"}, nil)
	for _, want := range []string{`unknown command "frobnicate"`, "bench", "serve", "replay", "inspect", "whatif"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run frobnicate: %v, want an error naming %q", err, want)
		}
	}
	if err := Run(context.Background(), []string{"bench", "-h"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Run bench -h: %v, want flag.ErrHelp", err)
	}
}
