package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeLastMessage is the oracle of FuzzLastMessageText: it decodes the
// whole frame. decided is false for frames outside the scanner's contract:
// not exactly {"event":"messageWritten","messagesList":[…]} in that order.
func decodeLastMessage(b []byte) (text string, ok, decided bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	want := []any{json.Delim('{'), "event", "messageWritten", "messagesList"}
	for _, w := range want {
		tok, err := dec.Token()
		if err != nil || tok != w {
			return "", false, false
		}
	}
	var list []json.RawMessage
	if dec.Decode(&list) != nil {
		return "", false, false
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", false, false
	}
	if _, err := dec.Token(); err == nil || !json.Valid(b) {
		return "", false, false
	}
	if len(list) == 0 {
		return "", false, true
	}
	var last map[string]json.RawMessage
	if json.Unmarshal(list[len(list)-1], &last) != nil {
		return "", false, true
	}
	if m := last["message"]; len(m) == 0 || m[0] != '"' || json.Unmarshal(m, &text) != nil {
		return "", false, true
	}
	return text, true, true
}

func FuzzLastMessageText(f *testing.F) {
	f.Add(statecastWritten("w1#0@5", "w3#17@1732550000123456789"))
	f.Add(seedWritten("a", `q"uo\te "message":"no"`))
	f.Add([]byte(`{"event":"messageWritten","messagesList":[{"message":"real","k\"message":"fake"}]}`))
	f.Add([]byte(`{"event":"messageWritten","messagesList":[{"message":"a"}],"x":[{"message":"b"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := lastMessageText(b)
		want, wantOK, decided := decodeLastMessage(b)
		if !ok || !decided {
			return // no answer, or a frame outside the contract: no panic is all
		}
		if !wantOK {
			t.Fatalf("lastMessageText(%s) = %q; the last element has no message", b, got)
		}
		if utf8.Valid(got) && string(got) != want {
			t.Fatalf("lastMessageText(%s) = %q, want %q", b, got, want)
		}
	})
}

// decodePatchMessages is the oracle of FuzzPatchMessages.
func decodePatchMessages(b []byte) (texts []string, ok bool) {
	var frame map[string]json.RawMessage
	if json.Unmarshal(b, &frame) != nil {
		return nil, false
	}
	var ops []map[string]json.RawMessage
	if _, has := frame["ops"]; has && json.Unmarshal(frame["ops"], &ops) != nil {
		return nil, false // ops that is not an array of objects: outside the contract
	}
	for _, op := range ops {
		var o, p string
		var value map[string]json.RawMessage
		var text string
		if json.Unmarshal(op["op"], &o) == nil && o == "add" &&
			json.Unmarshal(op["path"], &p) == nil && p == "/messages/-" &&
			json.Unmarshal(op["value"], &value) == nil &&
			len(value["message"]) > 0 && value["message"][0] == '"' &&
			json.Unmarshal(value["message"], &text) == nil {
			texts = append(texts, text)
		}
	}
	return texts, true
}

func FuzzPatchMessages(f *testing.F) {
	f.Add([]byte(`{"event":"patch","seq":42,"ops":[{"op":"add","path":"/messages/-","value":{"message":"w1#0@9"}},{"op":"remove","path":"/messages/0"}]}`))
	f.Add([]byte(`{ "ops" : [ { "value" : { "message" : "a" } , "path":"/messages/-" , "op":"add" } ] }`))
	f.Add([]byte(`{"ops":[{"op":"add","path":"/messages/-","value":{"x":{"message":"no"},"message":"yes"}}],"ops":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, ok := patchMessages(b, nil)
		want, wantOK := decodePatchMessages(b)
		if !ok || !wantOK || !utf8.Valid(b) {
			return
		}
		var g []string
		for _, x := range got {
			g = append(g, string(x))
		}
		if strings.Join(g, "\x00") != strings.Join(want, "\x00") || len(g) != len(want) {
			t.Fatalf("patchMessages(%s) = %q, want %q", b, g, want)
		}
	})
}
