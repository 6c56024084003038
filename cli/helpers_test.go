package cli

import (
	"context"
	"io"
	"net"
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
