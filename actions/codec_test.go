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
		{Seq: 1 << 40, Type: actions.TypeWriteMessage, At: at, Payload: actions.WriteMessage{Message: "héllo\x00", ClientID: "c"}},
		{Seq: 4, Type: actions.TypeExpirePresence, User: "u", Payload: actions.Expire{Since: 3}},
		{Seq: 7, Type: "x", At: time.Unix(0, 0).UTC()},
		{Seq: 8, Type: "x", At: time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Seq: 9, Type: "x", At: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Seq: 6, Type: actions.TypePostMessage, User: "bot", Payload: actions.PostMessage{Username: "dicebot", Message: "7"}},
		{Seq: 5, Type: "bot/roll", Payload: botPayload{Command: "/roll", Dice: 2}},
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
		{Seq: 3, Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "hi"}},
		{Seq: 5, Type: "bot/roll", Payload: botPayload{Command: "/roll"}},
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
