package actions_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", b, err)
	}
	return m
}

func TestEncodeV1Events(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.FixedZone("X", 3600))
	msg := actions.EncodeMessage(actions.Message{ID: "m1", UserID: "1", Username: "ann", Message: "<hi>", At: at, Seq: 42})
	wantMsg := map[string]any{"id": "m1", "userId": "1", "username": "ann", "message": "<hi>", "at": "2026-11-25T17:00:00Z", "seq": 42.0}
	if got := decode(t, msg); !reflect.DeepEqual(got, wantMsg) {
		t.Errorf("message = %v, want %v", got, wantMsg)
	}

	got := decode(t, actions.EncodeConnected(actions.User{ID: "1", Username: "ann"},
		[][]byte{actions.EncodeUser(actions.User{ID: "1", Username: "ann"})}, [][]byte{msg}, ""))
	want := map[string]any{"event": "connected", "id": "1", "username": "ann", "name": "ann",
		"connectedUserList": []any{map[string]any{"id": "1", "username": "ann"}},
		"messagesList":      []any{wantMsg}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("connected = %v, want %v", got, want)
	}

	empty := decode(t, actions.EncodeConnected(actions.User{ID: "1", Username: "a"}, nil, nil, ""))
	if l, ok := empty["connectedUserList"].([]any); !ok || len(l) != 0 {
		t.Errorf("empty connectedUserList = %v, want []", empty["connectedUserList"])
	}
	if l, ok := empty["messagesList"].([]any); !ok || len(l) != 0 {
		t.Errorf("empty messagesList = %v, want []", empty["messagesList"])
	}

	got = decode(t, actions.EncodePresence(actions.EventJoined, actions.User{ID: "2", Username: "bob"}))
	if want := map[string]any{"event": "joined", "id": "2", "username": "bob", "name": "bob"}; !reflect.DeepEqual(got, want) {
		t.Errorf("joined = %v, want %v", got, want)
	}

	got = decode(t, actions.EncodeMessageWritten([][]byte{msg, msg}))
	if got["event"] != "messageWritten" || len(got["messagesList"].([]any)) != 2 {
		t.Errorf("messageWritten = %v", got)
	}

	got = decode(t, actions.EncodeError(&actions.Error{Code: "c", Message: "m", Ref: "writeMessage"}))
	if want := map[string]any{"event": "error", "code": "c", "message": "m", "ref": "writeMessage"}; !reflect.DeepEqual(got, want) {
		t.Errorf("error = %v, want %v", got, want)
	}
}

func TestEncodeInvalidUTF8StaysJSON(t *testing.T) {
	t.Parallel()
	b := actions.EncodePresence(actions.EventJoined, actions.User{ID: "\xff", Username: "a\x00b"})
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %q", b)
	}
}

// TestEncodeErrorRetryAfter: a transient refusal tells the client how long
// to wait, in whole milliseconds rounded up; others carry no hint.
func TestEncodeErrorRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after time.Duration
		want  map[string]any
	}{
		{"no hint", 0, map[string]any{"event": "error", "code": "rate_limited", "message": "m"}},
		{"rounded up", 1500 * time.Microsecond, map[string]any{"event": "error", "code": "rate_limited", "message": "m", "retryAfter": 2.0}},
		{"whole", time.Second, map[string]any{"event": "error", "code": "rate_limited", "message": "m", "retryAfter": 1000.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decode(t, actions.EncodeError(&actions.Error{Code: "rate_limited", Message: "m", RetryAfter: tc.after}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("error = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAppendPatch: a patch appended after other bytes is the frame
// EncodePatch returns, valid JSON, and no longer than PatchSize says.
func TestAppendPatch(t *testing.T) {
	t.Parallel()
	ops := [][]byte{
		actions.AppendAddOp(nil, "/messages/-", actions.EncodeMessage(actions.Message{ID: "m1", Message: "hi"})),
		actions.AppendRemoveOp(nil, "/messages/0"),
	}
	for _, ops := range [][][]byte{ops, nil} {
		prefix := []byte("before")
		got := actions.AppendPatch(prefix, 18446744073709551615, ops)
		frame := got[len(prefix):]
		if !bytes.Equal(frame, actions.EncodePatch(18446744073709551615, ops)) {
			t.Fatalf("AppendPatch wrote %s, EncodePatch %s", frame, actions.EncodePatch(18446744073709551615, ops))
		}
		if len(frame) > actions.PatchSize(ops) {
			t.Fatalf("a patch of %d bytes, PatchSize %d", len(frame), actions.PatchSize(ops))
		}
		if !json.Valid(frame) || string(got[:len(prefix)]) != "before" {
			t.Fatalf("AppendPatch wrote %s after %q", frame, got[:len(prefix)])
		}
	}
}
