package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/statecast/statecast/internal/loadtest"
)

func TestExitCode(t *testing.T) {
	bad := loadtest.Run(context.Background(), []string{"-url", "ws://example.com/chat"}, io.Discard)
	help := loadtest.Run(context.Background(), []string{"-h"}, io.Discard)
	if !errors.Is(bad, loadtest.ErrUsage) || !errors.Is(help, flag.ErrHelp) {
		t.Fatalf("Run returned %v for a bad -url and %v for -h", bad, help)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{help, 0},
		{bad, 2},
		{fmt.Errorf("connecting the clients: %w", errors.New("connection refused")), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
