package cli

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
)

// Run is Main for statecast itself, writing nowhere.
func Run(ctx context.Context, args, env []string) error {
	return Main(ctx, args, env, Output(io.Discard, io.Discard))
}

// serve is statecast's serve.
func serve(ctx context.Context, args, env []string, ready func(net.Addr)) error {
	return newProgram().serve(ctx, args, env, ready)
}

// replayTo is statecast's replay, writing to out and errOut.
func replayTo(ctx context.Context, args, env []string, out, errOut io.Writer) error {
	return newProgram().replayTo(ctx, args, env, out, errOut)
}

// startInspect runs `statecast inspect` with args and env and returns the
// address it serves on once it does; stop ends it and fails the test
// unless it returns without an error.
func startInspect(t *testing.T, args, env []string) (addr net.Addr, stop func()) {
	t.Helper()
	addrs := make(chan net.Addr, 1)
	testHookInspecting = func(a net.Addr) { addrs <- a }
	t.Cleanup(func() { testHookInspecting = nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, append([]string{"inspect"}, args...), env) }()
	select {
	case addr = <-addrs:
	case err := <-done:
		cancel()
		t.Fatalf("inspect %q: %v", args, err)
	case <-time.After(chattest.Timeout):
		cancel()
		t.Fatalf("inspect %q did not serve", args)
	}
	return addr, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("inspect %q after its context ended: %v", args, err)
			}
		case <-time.After(chattest.Timeout):
			t.Fatalf("inspect %q did not return", args)
		}
	}
}
