package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"

	"github.com/statecast/statecast/cli"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestWhatIfListsWhatTheFilterRefuses records a chat on a server without
// the filter, then replays its log through the filter with `moderation
// whatif`: the report lists exactly the messages the filter refuses, the
// ones it masks, and the final state without the refused ones.
func TestWhatIfListsWhatTheFilterRefuses(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{}) // no filter
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/r", "u-bob", "bob")
	said := []string{"hello", "buy spam now", "well darn", "SPAM again", "spammer is fine", "bye"}
	for i, text := range said {
		c := ann
		if i%2 == 1 {
			c = bob
		}
		c.Say(text)
		for _, r := range []*chattest.Client{ann, bob} {
			if got := nextMessages(t, r); got[len(got)-1] != text {
				t.Fatalf("recording: last message %q, want %q", got[len(got)-1], text)
			}
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err := run(context.Background(), []string{"whatif", "-data", s.Config.Data, "-mask", "darn", "-reject", "spam", "-format", "json"},
		nil, cli.Output(&out, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rejected []struct {
			Code   string
			Action struct{ Payload struct{ Message string } }
		}
		Changed []struct {
			Recorded, Now struct{ Payload struct{ Message string } }
		}
		State []struct {
			Room         string
			OnlyRecorded []struct{ Message string }
			Changed      [][2]struct{ Message string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	var refused []string
	for _, r := range rep.Rejected {
		if r.Code != CodeBannedWord {
			t.Errorf("rejection code %q, want %s", r.Code, CodeBannedWord)
		}
		refused = append(refused, r.Action.Payload.Message)
	}
	if want := []string{"buy spam now", "SPAM again"}; !slices.Equal(refused, want) {
		t.Fatalf("refused %q, want exactly %q\n%s", refused, want, out.String())
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Recorded.Payload.Message != "well darn" || rep.Changed[0].Now.Payload.Message != "well ***" {
		t.Fatalf("changed %+v, want only well darn masked", rep.Changed)
	}
	if len(rep.State) != 1 || rep.State[0].Room != "r" || len(rep.State[0].OnlyRecorded) != 2 || len(rep.State[0].Changed) != 1 {
		t.Fatalf("state differences %+v, want room r without the two refused messages and with one masked", rep.State)
	}
}

// TestWhatIfSameChainNoDifference: a log replayed through the chain it was
// recorded with differs in nothing.
func TestWhatIfSameChainNoDifference(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := chattest.Start(t, server.Config{Data: dir})
	ann, _ := rec.Join(t, "/chat/r", "u-ann", "ann")
	ann.Say("hello")
	nextMessages(t, ann)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"whatif", "-data", dir, "-mask", "", "-reject", ""}, nil, cli.Output(&out, io.Discard)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("no difference")) {
		t.Fatalf("report:\n%s\nwant no difference", out.String())
	}
}
