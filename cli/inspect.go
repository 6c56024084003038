package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/statecast/statecast/inspect"
	"github.com/statecast/statecast/store/chat"
	storenats "github.com/statecast/statecast/store/nats"
)

// inspectConfig is everything `statecast inspect` can be told.
type inspectConfig struct {
	addr, data, nats, stream, token string
	history                         int
}

func inspectFlags(name string, c *inspectConfig) *flag.FlagSet {
	fs := flag.NewFlagSet(name+" inspect", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3006", "listen address `host:port` (STATECAST_ADDR)")
	fs.StringVar(&c.data, "data", "./data", "the data `directory` whose log to show, read-only: a server's -data, or a copy of it (STATECAST_DATA)")
	fs.StringVar(&c.nats, "nats", "", "show a cluster's log instead of -data: the NATS servers, comma-separated `URLs` (STATECAST_NATS)")
	fs.StringVar(&c.stream, "nats-stream", storenats.DefaultStream, "with -nats, the JetStream stream of the action log (STATECAST_NATS_STREAM)")
	fs.IntVar(&c.history, "history", chat.DefaultHistory, "messages retained per room; must match the servers' -history (STATECAST_HISTORY)")
	fs.StringVar(&c.token, "inspect-token", "", "the admin token remote clients must present; empty: only loopback clients get in (STATECAST_INSPECT_TOKEN)")
	return fs
}

// testHookInspecting, when set (by tests only), receives the address the
// inspect command listens on.
var testHookInspecting func(net.Addr)

// runInspect serves the inspector over a log, read-only, until ctx ends.
func (p *program) runInspect(ctx context.Context, args, env []string) error {
	var c inspectConfig
	fs := inspectFlags(p.name, &c)
	fs.SetOutput(p.errOut)
	if err := applyEnv(fs, env); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.history < 1 {
		return errors.New("-history must be at least 1")
	}
	var src inspect.Source = inspect.Dir(c.data)
	if c.nats != "" {
		src = inspect.Stream{URLs: c.nats, Name: c.stream}
	}
	h, err := inspect.New(ctx, inspect.Config{Source: src, History: c.history, Token: c.token})
	if err != nil {
		return err
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/inspect", h)
	mux.Handle("/inspect/", h)
	mux.Handle("/{$}", http.RedirectHandler("/inspect/", http.StatusFound))
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(p.errOut, "%s inspect: serving http://%s/inspect/ (read-only)\n", p.name, ln.Addr())
	if testHookInspecting != nil {
		testHookInspecting(ln.Addr())
	}
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-done
	return err
}
