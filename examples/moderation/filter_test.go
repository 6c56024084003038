package main

import (
	"context"
	"errors"
	"testing"

	"github.com/statecast/statecast/actions"
)

var words = map[string]Policy{"darn": Mask, "Heck": Mask, "spam": Reject, "Ärger": Mask}

// filtered runs a through the filter of words into a terminal that
// records what reached it.
func filtered(t *testing.T, a *actions.Action) (*actions.Action, error) {
	t.Helper()
	mw, err := Filter(words)
	if err != nil {
		t.Fatal(err)
	}
	var got *actions.Action
	err = mw(func(_ context.Context, a *actions.Action) error { got = a; return nil })(context.Background(), a)
	return got, err
}

func TestFilterMasks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "hello there", "hello there"},
		{"one word", "darn", "***"},
		{"case-insensitive", "well DARN it, Heck", "well *** it, ***"},
		{"punctuation", "(darn)! darn's heck-darn", "(***)! ***'s ***-***"},
		{"whole words only", "darned darning undarn heckle", "darned darning undarn heckle"},
		{"digits join words", "darn2 2darn", "darn2 2darn"},
		{"unicode", "so ein ärger, ÄRGER", "so ein ***, ***"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := filtered(t, &actions.Action{Type: actions.TypeWriteMessage,
				Payload: actions.WriteMessage{Message: tc.in, ClientID: "c"}})
			if err != nil {
				t.Fatal(err)
			}
			if w := got.Payload.(actions.WriteMessage); w.Message != tc.want || w.ClientID != "c" {
				t.Errorf("%q became %+v, want %q", tc.in, w, tc.want)
			}
		})
	}
}

func TestFilterRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a    *actions.Action
	}{
		{"write", &actions.Action{Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "buy SPAM now"}}},
		{"reject wins over mask", &actions.Action{Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "darn spam"}}},
		{"post from server code", &actions.Action{Type: actions.TypePostMessage, Payload: actions.PostMessage{Username: "bot", Message: "spam!"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := filtered(t, tc.a)
			var e *actions.Error
			if !errors.As(err, &e) || e.Code != CodeBannedWord || got != nil {
				t.Errorf("err = %v, passed on: %v; want a %s rejection", err, got, CodeBannedWord)
			}
		})
	}
}

func TestFilterPassesOtherActions(t *testing.T) {
	t.Parallel()
	post := &actions.Action{Type: actions.TypePostMessage, Payload: actions.PostMessage{Username: "darn", Message: "oh darn"}}
	got, err := filtered(t, post)
	if err != nil || got.Payload != (actions.PostMessage{Username: "darn", Message: "oh ***"}) {
		t.Errorf("post became %+v, %v; want only the message masked", got.Payload, err)
	}
	connect := &actions.Action{Type: actions.TypeConnect, Payload: actions.Connect{Username: "spam"}}
	if got, err := filtered(t, connect); err != nil || got.Payload != (actions.Connect{Username: "spam"}) {
		t.Errorf("connect became %+v, %v; want it unchanged", got.Payload, err)
	}
}

func TestFilterRefusesBadLists(t *testing.T) {
	t.Parallel()
	for name, list := range map[string]map[string]Policy{
		"empty word":     {"": Mask},
		"two words":      {"no way": Reject},
		"punctuation":    {"a-b": Mask},
		"no policy":      {"darn": 0},
		"unknown policy": {"darn": 7},
		"listed twice":   {"darn": Mask, "DARN": Reject},
	} {
		if _, err := Filter(list); err == nil {
			t.Errorf("%s: Filter(%v) accepted it", name, list)
		}
	}
	if _, err := wordList("darn, heck", "spam,Darn"); err == nil {
		t.Error("wordList accepted a word in both lists")
	}
	if got, err := wordList("darn, heck,", "spam"); err != nil || len(got) != 3 || got["heck"] != Mask || got["spam"] != Reject {
		t.Errorf("wordList = %v, %v", got, err)
	}
}
