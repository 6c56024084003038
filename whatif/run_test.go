package whatif_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/whatif"
)

// record writes a log to a fresh directory: ann opens a socket in room r,
// connects and writes texts.
func record(t *testing.T, texts ...string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	batch := []*actions.Action{
		{Type: actions.TypeOpenSession, Room: "r", Session: "s1", Payload: actions.Open{}},
		{Type: actions.TypeConnect, Room: "r", Session: "s1", User: "u-ann", Payload: actions.Connect{Username: "ann"}},
	}
	for _, text := range texts {
		batch = append(batch, &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s1", Payload: actions.WriteMessage{Message: text}})
	}
	for i, a := range batch {
		a.At, a.ID = at.Add(time.Duration(i)*time.Second), "id-"+string(rune('a'+i))
	}
	if err := l.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shouting refuses messages with "no" and upper-cases "hey".
func shouting(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		if w, ok := a.Payload.(actions.WriteMessage); ok {
			switch w.Message {
			case "no":
				return &actions.Error{Code: "refused", Message: "not today"}
			case "hey":
				w.Message = "HEY"
				a.Payload = w
			}
		}
		return next(ctx, a)
	}
}

func TestRunReportsRejectionsChangesAndState(t *testing.T) {
	t.Parallel()
	dir := record(t, "hello", "no", "hey", "bye")
	var stopped bool
	rep, err := whatif.Run(context.Background(), whatif.Config{Dir: dir, Setup: func(*store.Store[chat.State]) ([]store.Middleware, func(), error) {
		return []store.Middleware{shouting}, func() { stopped = true }, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !stopped {
		t.Error("Run did not stop the middleware")
	}
	if rep.Actions != 6 || rep.From != 1 || rep.To != 6 {
		t.Fatalf("replayed %d actions, seq %d to %d; want 6, 1 to 6", rep.Actions, rep.From, rep.To)
	}
	if len(rep.Rejected) != 1 || rep.Rejected[0].Seq != 4 || rep.Rejected[0].Code != "refused" {
		t.Fatalf("rejected %+v, want seq 4 refused", rep.Rejected)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Seq != 5 || rep.Changed[0].Now.Payload.(actions.WriteMessage).Message != "HEY" {
		t.Fatalf("changed %+v, want seq 5 upper-cased", rep.Changed)
	}
	if len(rep.State) != 1 || len(rep.State[0].OnlyRecorded) != 1 || rep.State[0].OnlyRecorded[0].Message != "no" ||
		len(rep.State[0].Changed) != 1 || rep.State[0].Changed[0][1].Message != "HEY" || rep.State[0].OnlyNow != nil {
		t.Fatalf("state %+v", rep.State)
	}
	// The actions kept their seqs and times: "bye" is the same message on both sides.
	var out bytes.Buffer
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rejected now (1)", `seq 4 message/write room r "no": refused: not today`, `now message/write room r "HEY"`, `only recorded: seq 4`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunSameChainNoDifference(t *testing.T) {
	t.Parallel()
	rep, err := whatif.Run(context.Background(), whatif.Config{Dir: record(t, "hello", "bye")})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Same() {
		t.Fatalf("report %+v, want no difference", rep)
	}
}

func TestRunSetupFails(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := whatif.Run(context.Background(), whatif.Config{Dir: record(t), Setup: func(*store.Store[chat.State]) ([]store.Middleware, func(), error) {
		return nil, nil, boom
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the setup's", err)
	}
	if _, err := whatif.Run(context.Background(), whatif.Config{Dir: t.TempDir()}); err == nil {
		t.Fatal("a directory without a log: no error")
	}
}
