package loadtest

import (
	"context"
	"errors"
	"flag"
	"io"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ws://127.0.0.1:3005/chat", "ws://127.3.2.1/chat", "ws://localhost:1/chat", "ws://LOCALHOST/chat",
		"ws://[::1]:3005/chat", "wss://127.0.0.1/chat", "ws://[::ffff:127.0.0.1]/chat"} {
		if _, err := parseArgs([]string{"-url", ok}); err != nil {
			t.Errorf("-url %s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.0.0.1:3005/chat", "ws://192.168.1.2/chat", "ws://example.com/chat",
		"ws://localhost.evil.example/chat", "ws://[::2]/chat", "ws://0.0.0.0/chat", "http://127.0.0.1/chat", "127.0.0.1:3005"} {
		if _, err := parseArgs([]string{"-url", bad}); err == nil {
			t.Errorf("-url %s was accepted", bad)
		}
	}
	for _, args := range [][]string{
		{"-mode", "soak", "-minutes", "0"}, {"-mode", "soak", "-dialect", "centrifugo"}, {"-mode", "bogus"}, {"-dialect", "centrifugo", "-flood", "2"}, {"-dialect", "v3"}, {"-writers", "0"}, {"-writers", "200"}, {"-messages", "5"},
		{"-rooms", "2"}, {"-clients", "0"}, {"-concurrency", "0"}, {"-timeout", "0s"}, {"extra"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	c, err := parseArgs([]string{"-mode", "history"})
	if err != nil || c.historyFill != 1000 || c.inflight != 1 {
		t.Errorf("history defaults: %+v, %v", c, err)
	}
	if c, _ := parseArgs([]string{"-rate", "100"}); c.inflight != 0 {
		t.Errorf("-rate without -inflight: window %d, want unlimited", c.inflight)
	}
}

// TestRunUsage checks the errors Run returns before it connects anywhere:
// a bad command line matches ErrUsage, -h is flag.ErrHelp.
func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-url", "ws://example.com/chat"}, {"-clients", "x"}, {"-mode", "bogus"}, {"extra"}} {
		if err := Run(context.Background(), args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("Run %v = %v, want an ErrUsage", args, err)
		}
	}
	if err := Run(context.Background(), []string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrUsage) {
		t.Errorf("Run -h = %v, want flag.ErrHelp", err)
	}
}
