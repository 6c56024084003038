package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
)

// childEnv names the variable that holds a child's childConfig as JSON.
const childEnv = "STATECAST_SERVER_TEST_CHILD"

// childConfig is the part of server.Config a child server takes, with no
// rate limits (the tests' clients write far faster than people do).
type childConfig struct {
	Data          string
	Grace         time.Duration
	History       int
	Fsync         string // as file.ParseFsync takes it; empty: always
	SnapshotEvery uint64
	Cluster       server.Cluster
}

// runChild runs a server from cfg (JSON) on a loopback port, logging JSON
// lines to standard error (the address with "statecast serving"), until
// SIGTERM or SIGINT; it returns the exit code.
func runChild(cfg string) int {
	var c childConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	fsync := file.Always
	if c.Fsync != "" {
		var err error
		if fsync, err = file.ParseFsync(c.Fsync); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv, err := server.New(ctx, server.Config{
		Transport: transport.Config{Addr: "127.0.0.1:0"},
		Data:      c.Data, Grace: c.Grace, History: c.History, Fsync: fsync, SnapshotEvery: c.SnapshotEvery,
		RateLimit: unlimited,
		Cluster:   c.Cluster,
		Logger:    zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger(),
	})
	if err == nil {
		err = srv.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	return 0
}
