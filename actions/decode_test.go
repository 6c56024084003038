package actions_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/statecast/statecast/actions"
)

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  actions.Frame
		code  string
		ref   string
	}{
		{"connecting with string id", `{"event":"connecting","id":"17","username":"ann"}`,
			actions.Frame{Event: "connecting", ID: "17", Username: "ann"}, "", ""},
		{"number id becomes decimal", `{"event":"connecting","id":1700000000000,"username":"ann"}`,
			actions.Frame{Event: "connecting", ID: "1700000000000", Username: "ann"}, "", ""},
		{"float id as JavaScript writes it", `{"event":"connecting","id":1.5e3,"name":"ann"}`,
			actions.Frame{Event: "connecting", ID: "1500", Username: "ann"}, "", ""},
		{"name when no username", `{"event":"connecting","name":"ben"}`,
			actions.Frame{Event: "connecting", Username: "ben"}, "", ""},
		{"username wins over name", `{"event":"connecting","username":"ann","name":"ben"}`,
			actions.Frame{Event: "connecting", Username: "ann"}, "", ""},
		{"empty username falls back to name", `{"event":"connecting","username":"","name":"ben"}`,
			actions.Frame{Event: "connecting", Username: "ben"}, "", ""},
		{"token and lastSeq", `{"event":"connecting","username":"a","token":"t","lastSeq":42}`,
			actions.Frame{Event: "connecting", Username: "a", Token: "t", LastSeq: 42, HasLastSeq: true}, "", ""},
		{"write message ignores username of any type", `{"event":"writeMessage","message":"hi","username":{"x":1},"clientId":"c"}`,
			actions.Frame{Event: "writeMessage", Message: "hi", ClientID: "c"}, "", ""},
		{"exact keys only", `{"Event":"connecting","username":"a"}`, actions.Frame{}, actions.CodeMissingField, ""},
		{"last duplicate key wins", `{"event":"x","event":"writeMessage","message":"m"}`,
			actions.Frame{Event: "writeMessage", Message: "m"}, "", ""},

		{"invalid JSON", `{"event":`, actions.Frame{}, actions.CodeInvalidJSON, ""},
		{"empty frame", ``, actions.Frame{}, actions.CodeInvalidJSON, ""},
		{"array", `[1,2]`, actions.Frame{}, actions.CodeNotAnObject, ""},
		{"string", `"connecting"`, actions.Frame{}, actions.CodeNotAnObject, ""},
		{"null", `null`, actions.Frame{}, actions.CodeNotAnObject, ""},
		{"number", ` 42 `, actions.Frame{}, actions.CodeNotAnObject, ""},
		{"no event", `{"username":"a"}`, actions.Frame{}, actions.CodeMissingField, ""},
		{"event not a string", `{"event":7}`, actions.Frame{}, actions.CodeWrongType, ""},
		{"unknown event", `{"event":"dance"}`, actions.Frame{Event: "dance"}, actions.CodeUnknownEvent, "dance"},
		{"connecting without name", `{"event":"connecting","id":"1"}`, actions.Frame{Event: "connecting", ID: "1"}, actions.CodeMissingField, "connecting"},
		{"connecting with empty names", `{"event":"connecting","username":"","name":""}`, actions.Frame{Event: "connecting"}, actions.CodeMissingField, "connecting"},
		{"username not a string", `{"event":"connecting","username":5}`, actions.Frame{Event: "connecting"}, actions.CodeWrongType, "connecting"},
		{"id an object", `{"event":"connecting","id":{},"username":"a"}`, actions.Frame{Event: "connecting"}, actions.CodeWrongType, "connecting"},
		{"id a boolean", `{"event":"connecting","id":true,"username":"a"}`, actions.Frame{Event: "connecting"}, actions.CodeWrongType, "connecting"},
		{"lastSeq negative", `{"event":"connecting","username":"a","lastSeq":-1}`, actions.Frame{Event: "connecting", Username: "a"}, actions.CodeWrongType, "connecting"},
		{"message missing", `{"event":"writeMessage"}`, actions.Frame{Event: "writeMessage"}, actions.CodeMissingField, "writeMessage"},
		{"message null", `{"event":"writeMessage","message":null}`, actions.Frame{Event: "writeMessage"}, actions.CodeMissingField, "writeMessage"},
		{"message a number", `{"event":"writeMessage","message":5}`, actions.Frame{Event: "writeMessage"}, actions.CodeWrongType, "writeMessage"},
		{"clientId a number", `{"event":"writeMessage","message":"m","clientId":5}`, actions.Frame{Event: "writeMessage", Message: "m"}, actions.CodeWrongType, "writeMessage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := actions.DecodeFrame([]byte(tt.frame))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				if got != tt.want {
					t.Fatalf("frame = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s (frame %+v)", tt.code, got)
			}
			if err.Code != tt.code || err.Ref != tt.ref || err.Message == "" {
				t.Fatalf("error = %+v, want code %q ref %q and a message", err, tt.code, tt.ref)
			}
		})
	}
}

// FuzzDecodeFrame feeds arbitrary bytes to the decoder of client frames:
// it must never panic, must accept exactly what it says it accepts, and
// every error must encode to a valid `error` frame.
//
//	go test -fuzz FuzzDecodeFrame ./actions/
func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range []string{
		`{"event":"connecting","id":"1","username":"ann"}`,
		`{"event":"connecting","id":1700000000000,"name":"ben","lastSeq":3,"token":"t"}`,
		`{"event":"writeMessage","message":"hi","clientId":"c1","username":5}`,
		`{"event":"writeMessage","message":"\ud83d\ude00"}`,
		`[]`, `null`, `{"event":7}`, `{"event":"connecting","id":-1e400}`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := actions.DecodeFrame(data)
		if err != nil {
			out := actions.EncodeError(err)
			var back map[string]any
			if jerr := json.Unmarshal(out, &back); jerr != nil || back["event"] != "error" || back["code"] != err.Code {
				t.Fatalf("error frame %q does not decode (%v)", out, jerr)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		switch frame.Event {
		case actions.EventConnecting:
			if frame.Username == "" {
				t.Fatalf("accepted connecting without a username: %q", data)
			}
		case actions.EventWriteMessage:
		default:
			t.Fatalf("accepted unknown event %q", frame.Event)
		}
		for _, s := range []string{frame.ID, frame.Username, frame.Message, frame.ClientID, frame.Token} {
			if !utf8.ValidString(s) {
				t.Fatalf("decoded invalid UTF-8 %q", s)
			}
		}
		if strings.ContainsAny(frame.ID, "{[") {
			t.Fatalf("id %q is not a string or a number", frame.ID)
		}
	})
}
