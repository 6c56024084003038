package actions_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

type botPayload struct {
	Command string `json:"command"`
	Dice    int    `json:"dice"`
}

func init() { actions.RegisterPayload("test/bot", botPayload{}) }

func TestBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC)
	for _, a := range []*actions.Action{
		{Seq: 1, ID: "id", Type: actions.TypeOpenSession, Room: "r", Session: "s"},
		{Seq: 2, Type: actions.TypeConnect, Room: "r", Session: "s", User: "u", At: at, Payload: actions.Connect{Username: "ann"}},
		{Seq: 3, Type: actions.TypeConnect, User: "u", Payload: actions.Connect{Username: "ann", Fallback: "f", Strict: true, TokenHash: "th", NewTokenHash: "nh", Verified: true}},
		{Seq: 3, Type: actions.TypeConnect, User: "u", Payload: actions.Connect{Username: "ann", Fallback: "f", Strict: true, TokenHash: "th", FreshTokenHash: "fh", Verified: true}},
		{Seq: 3, Type: actions.TypeConnect, User: "u", Payload: actions.Connect{Strict: true, NewTokenHash: "nh", FreshTokenHash: "fh"}},
		{Seq: 1 << 40, Type: actions.TypeWriteMessage, At: at, Payload: actions.WriteMessage{Message: "héllo\x00", ClientID: "c"}},
		{Seq: 4, Type: actions.TypeExpirePresence, User: "u", Payload: actions.Expire{Since: 3}},
		{Seq: 7, Type: "x", At: time.Unix(0, 0).UTC()},
		{Seq: 8, Type: "x", At: time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Seq: 9, Type: "x", At: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Seq: 6, Type: actions.TypePostMessage, User: "bot", Payload: actions.PostMessage{Username: "dicebot", Message: "7"}},
		{Seq: 5, Type: "bot/roll", Payload: botPayload{Command: "/roll", Dice: 2}},
		{Seq: 10, Type: actions.TypeOpenSession, Room: "r", Session: "s", Payload: actions.Open{Node: "node-a"}},
		{Seq: 11, Type: actions.TypeOpenSession, Room: "r", Session: "s", Payload: actions.Open{}},
		{Seq: 12, Type: actions.TypeNodeDown, At: at, Payload: actions.NodeDown{Node: "node-a"}},
		{Seq: 13, Type: actions.TypeNodeDown, Payload: actions.NodeDown{}},
	} {
		b, err := actions.AppendBinary(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := actions.DecodeBinary(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", a, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
	}
}

// TestBinaryLayoutIsStable pins the bytes of each payload kind: logs keep
// them for good, so a change here must be a new kind, never a new layout.
func TestBinaryLayoutIsStable(t *testing.T) {
	t.Parallel()
	head := "\x07\x00\x01t\x01r\x01s\x01u\x00" // seq 7, id "", type "t", room, session, user; no time
	for name, tt := range map[string]struct {
		payload any
		bytes   string
	}{
		"none":      {nil, "\x00"},
		"connect":   {actions.Connect{Username: "a", Fallback: "f", Strict: true, TokenHash: "h", NewTokenHash: "n", Verified: true}, "\x01\x01a\x01f\x01\x01h\x01n\x01"},
		"connect2":  {actions.Connect{Username: "a", Fallback: "f", Strict: true, TokenHash: "h", Verified: true, FreshTokenHash: "g"}, "\x08\x01a\x01f\x01\x01h\x00\x01\x01g"},
		"write":     {actions.WriteMessage{Message: "m", ClientID: "c"}, "\x02\x01m\x01c"},
		"expire":    {actions.Expire{Since: 300}, "\x03\xac\x02"},
		"post":      {actions.PostMessage{Username: "b", Message: "m"}, "\x05\x01b\x01m"},
		"open":      {actions.Open{Node: "n1"}, "\x06\x02n1"},
		"node down": {actions.NodeDown{Node: "n1"}, "\x07\x02n1"},
	} {
		a := &actions.Action{Seq: 7, Type: "t", Room: "r", Session: "s", User: "u", Payload: tt.payload}
		b, err := actions.AppendBinary(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := head + tt.bytes; string(b) != want {
			t.Errorf("%s: bytes %q, want %q", name, b, want)
		}
		if got, err := actions.DecodeBinary([]byte(head + tt.bytes)); err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("%s: decoded %+v, %v; want %+v", name, got, err, a)
		}
	}
}

// TestBinaryRejectsConnect2WithoutFreshToken: kind 8 is a Connect with a
// fresh token hash; one without is written as kind 1, so kind 8 without
// one is corrupt (and would not encode back to the same bytes).
func TestBinaryRejectsConnect2WithoutFreshToken(t *testing.T) {
	t.Parallel()
	b := "\x07\x00\x01t\x01r\x01s\x01u\x00" + "\x08\x01a\x01f\x01\x01h\x00\x01\x00"
	if _, err := actions.DecodeBinary([]byte(b)); !errors.Is(err, actions.ErrCorrupt) {
		t.Fatalf("kind 8 without a fresh token hash: err %v, want ErrCorrupt", err)
	}
}

func TestBinaryRejectsUnregisteredPayload(t *testing.T) {
	t.Parallel()
	type secret struct{ X int }
	if _, err := actions.AppendBinary(nil, &actions.Action{Type: "x", Payload: secret{1}}); err == nil {
		t.Fatal("an unregistered payload was encoded")
	}
}

func TestBinaryRejectsTruncatedAndTrailing(t *testing.T) {
	t.Parallel()
	b, _ := actions.AppendBinary(nil, &actions.Action{Seq: 9, Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "hi"}})
	for i := 0; i < len(b); i++ {
		if _, err := actions.DecodeBinary(b[:i]); !errors.Is(err, actions.ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: err %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := actions.DecodeBinary(append(b, 0)); !errors.Is(err, actions.ErrCorrupt) {
		t.Fatalf("trailing byte: err %v", err)
	}
}

// FuzzDecodeBinary: arbitrary bytes never panic the action decoder, and
// whatever it accepts encodes back to the same bytes.
//
//	go test -fuzz FuzzDecodeBinary ./actions/
func FuzzDecodeBinary(f *testing.F) {
	for _, a := range []*actions.Action{
		{Seq: 2, Type: actions.TypeConnect, Room: "r", Payload: actions.Connect{Username: "ann"}},
		{Seq: 2, Type: actions.TypeConnect, Room: "r", Payload: actions.Connect{Username: "ann", Strict: true, FreshTokenHash: "f"}},
		{Seq: 3, Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "hi"}},
		{Seq: 5, Type: "bot/roll", Payload: botPayload{Command: "/roll"}},
		{Seq: 6, Type: actions.TypeExpirePresence, Room: "r", User: "u", Payload: actions.Expire{Since: 4}},
		{Seq: 7, Type: actions.TypePostMessage, Room: "r", User: "bot", Payload: actions.PostMessage{Username: "b", Message: "m"}},
		{Seq: 8, Type: actions.TypeOpenSession, Room: "r", Session: "s"},
		{Seq: 9, Type: actions.TypeOpenSession, Room: "r", Session: "s", Payload: actions.Open{Node: "node-a"}},
		{Seq: 10, Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "node-a"}},
	} {
		b, _ := actions.AppendBinary(nil, a)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := actions.DecodeBinary(data)
		if err != nil {
			if !errors.Is(err, actions.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if _, err := actions.AppendBinary(nil, a); err != nil {
			t.Fatalf("decoded action does not encode: %v", err)
		}
	})
}
