package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the server with the filter in-process, in memory, on a
// loopback port, as run does.
func start(t *testing.T) *chattest.Server {
	t.Helper()
	filter, err := Filter(map[string]Policy{"darn": Mask, "spam": Reject})
	if err != nil {
		t.Fatal(err)
	}
	return chattest.Start(t, server.Config{Data: chattest.Memory}, filter, middleware.Validate(middleware.Limits{}))
}

// nextMessages waits for the next messageWritten and returns its texts.
func nextMessages(t *testing.T, c *chattest.Client) []string {
	t.Helper()
	f := c.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" || e.Name() == "error" })
	if f.Name() == "error" {
		t.Fatalf("unexpected error event %v", f)
	}
	var list []actions.Message
	f.Decode(t, "messagesList", &list)
	var texts []string
	for _, m := range list {
		texts = append(texts, m.Message)
	}
	return texts
}

func TestMaskedForEveryone(t *testing.T) {
	t.Parallel()
	s := start(t)
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/r", "u-bob", "bob")
	ann.Say("well DARN it")
	for _, c := range []*chattest.Client{ann, bob} {
		if got := nextMessages(t, c); len(got) != 1 || got[0] != "well *** it" {
			t.Errorf("messages = %q, want the masked one", got)
		}
	}
}

func TestRejectedWithItsCode(t *testing.T) {
	t.Parallel()
	s := start(t)
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/r", "u-bob", "bob")
	ann.Say("buy Spam now")
	f := ann.Await(func(e chattest.Event) bool { return e.Name() == "error" || e.Name() == "messageWritten" })
	if f.Name() != "error" || f.Str("code") != CodeBannedWord || f.Str("ref") != "writeMessage" {
		t.Fatalf("ann got %v, want an error %s for writeMessage", f, CodeBannedWord)
	}
	// The refused message reached nobody: bob's next list holds only the
	// message after it.
	ann.Say("sorry")
	for _, c := range []*chattest.Client{ann, bob} {
		if got := nextMessages(t, c); len(got) != 1 || got[0] != "sorry" {
			t.Errorf("messages = %q, want only the second message", got)
		}
	}
}

// TestMaskRevalidated shows why main validates again: a message at the
// length limit grows with its mask and is then refused.
func TestMaskRevalidated(t *testing.T) {
	t.Parallel()
	filter, err := Filter(map[string]Policy{"ok": Mask})
	if err != nil {
		t.Fatal(err)
	}
	chain := filter(middleware.Validate(middleware.Limits{Message: 4})(func(context.Context, *actions.Action) error { return nil }))
	err = chain(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r",
		Payload: actions.WriteMessage{Message: "ok o"}})
	if e := actions.AsError(err); e.Code != actions.CodeMessageTooLong {
		t.Errorf("err = %v, want %s", err, actions.CodeMessageTooLong)
	}
}

// TestRunStopsWithItsContext runs main's wiring until its context ends.
func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := chattest.NewServingLog()
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-format", "json", "-mask", "darn"}, nil, cli.Output(io.Discard, log))
	}()
	log.Await(t)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	if err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-mask", "two words"}, nil, cli.Output(io.Discard, io.Discard)); err == nil {
		t.Error("run accepted a bad word list")
	}
}
