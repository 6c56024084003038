package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/statecast/statecast/actions"
)

// statecastWritten is a messageWritten frame as statecast encodes it.
func statecastWritten(texts ...string) []byte {
	var list [][]byte
	for i, t := range texts {
		list = append(list, actions.EncodeMessage(actions.Message{
			ID: "m" + string(rune('a'+i)), UserID: "u1", Username: "ann", Message: t,
			At: time.Unix(1732550000, 0), Seq: uint64(i + 1),
		}))
	}
	return actions.EncodeMessageWritten(list)
}

// seedWritten is a messageWritten frame as the seed peer's JSON.stringify
// writes it.
func seedWritten(texts ...string) []byte {
	type msg struct {
		Username string `json:"username"`
		Message  string `json:"message"`
	}
	list := []msg{}
	for _, t := range texts {
		list = append(list, msg{"ann", t})
	}
	b, _ := json.Marshal(struct {
		Event        string `json:"event"`
		MessagesList []msg  `json:"messagesList"`
	}{"messageWritten", list})
	return b
}

func TestLastMessageText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  string // "" with ok false
		ok    bool
	}{
		{"statecast", string(statecastWritten("w1#0@5", "w3#17@1732550000123456789")), "w3#17@1732550000123456789", true},
		{"statecast one", string(statecastWritten("hi")), "hi", true},
		{"seed", string(seedWritten("a", "b", "w0#1@2")), "w0#1@2", true},
		{"escapes", string(seedWritten("x", `q"uo\te "message":"no"`)), `q"uo\te "message":"no"`, true},
		{"unicode escape", `{"event":"messageWritten","messagesList":[{"message":"\u00e9t\u00e9"}]}`, "été", true},
		{"repeated key, not a string", `{"event":"messageWritten","messagesList":[{"message":"a","message":null}]}`, "", false},
		{"fields after", `{"event":"messageWritten","messagesList":[{"message":"m","seq":12,"ok":true,"n":null,"f":-1.5e3,"c":"x"}]}`, "m", true},
		{"message key inside a key", `{"event":"messageWritten","messagesList":[{"message":"real","k\"message":"fake"}]}`, "real", true},
		{"escaped backslash before key", `{"event":"messageWritten","messagesList":[{"k":"a\\","message":"m"}]}`, "m", true},
		{"empty text", string(seedWritten("")), "", true},
		{"empty list", `{"event":"messageWritten","messagesList":[]}`, "", false},
		{"last has no message", `{"event":"messageWritten","messagesList":[{"message":"a"},{"username":"b"}]}`, "", false},
		{"nested after", `{"event":"messageWritten","messagesList":[{"message":"a","x":{"y":1}}]}`, "", false},
		{"not compact", `{"event":"messageWritten","messagesList":[{"message": "a"}]}`, "", false},
		{"other event", `{"event":"error","code":"x","message":"bad"}`, "", false},
		{"other key order", `{"messagesList":[{"message":"a"}],"event":"messageWritten"}`, "", false},
		{"truncated", `{"event":"messageWritten","messagesList":[{"message":"a`, "", false},
		{"truncated tail", `{"event":"messageWritten","messagesList":[{"message":"a",`, "", false},
		{"non-JSON", "success connected", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lastMessageText([]byte(tc.frame))
			if ok != tc.ok || string(got) != tc.want {
				t.Errorf("lastMessageText(%s) = %q, %v; want %q, %v", tc.frame, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFrameEvent(t *testing.T) {
	t.Parallel()
	tests := []struct{ frame, want string }{
		{`{"event":"connected","id":"1"}`, "connected"},
		{string(statecastWritten("a")), "messageWritten"},
		{`{"event":"patch","seq":3,"ops":[]}`, "patch"},
		{`{"event":"a\"b"}`, ""},
		{`{ "event":"connected"}`, ""},
		{`success connected`, ""},
		{`{"event":"`, ""},
	}
	for _, tc := range tests {
		got, ok := frameEvent([]byte(tc.frame))
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("frameEvent(%s) = %q, %v; want %q", tc.frame, got, ok, tc.want)
		}
	}
}

func TestPatchMessages(t *testing.T) {
	t.Parallel()
	msg := func(text string) []byte {
		return actions.EncodeMessage(actions.Message{ID: "1", UserID: "u", Username: "ann", Message: text, Seq: 7})
	}
	statecast := actions.EncodePatch(42, [][]byte{
		actions.AppendAddOp(nil, "/messages/-", msg("w1#0@9")),
		actions.AppendRemoveOp(nil, "/messages/0"),
		actions.AppendAddOp(nil, "/userList/-", actions.EncodeUser(actions.User{ID: "u", Username: "message"})),
		actions.AppendAddOp(nil, "/messages/-", msg(`w2#1@9 "x"`)),
	})
	tests := []struct {
		name  string
		frame string
		want  []string
		seq   uint64
		ok    bool
	}{
		{"statecast merged", string(statecast), []string{"w1#0@9", `w2#1@9 "x"`}, 42, true},
		{"key order and spaces", `{ "ops" : [ { "value" : { "seq":1, "message" : "a" } , "path":"/messages/-" , "op":"add" } ] , "seq" : 5 , "event":"patch" }`, []string{"a"}, 5, true},
		{"escaped path", `{"event":"patch","seq":1,"ops":[{"op":"add","path":"\/messages\/-","value":{"message":"a"}}]}`, []string{"a"}, 1, true},
		{"no messages", `{"event":"patch","seq":2,"ops":[{"op":"remove","path":"/userList/0"}]}`, nil, 2, true},
		{"add elsewhere", `{"event":"patch","seq":2,"ops":[{"op":"add","path":"/messages/3","value":{"message":"a"}}]}`, nil, 2, true},
		{"value without message", `{"event":"patch","seq":2,"ops":[{"op":"add","path":"/messages/-","value":{"text":"a"}}]}`, nil, 2, true},
		{"repeated ops", `{"ops":[{"op":"add","path":"/messages/-","value":{"message":"a"}}],"ops":[]}`, nil, 0, true},
		{"nested message key", `{"ops":[{"op":"add","path":"/messages/-","value":{"x":{"message":"no"},"message":"yes"}}]}`, []string{"yes"}, 0, true},
		{"truncated", `{"event":"patch","seq":2,"ops":[{"op":"add"`, nil, 2, false},
		{"not an object", `[1,2]`, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			texts, seq, ok := patchMessages([]byte(tc.frame), nil)
			var got []string
			for _, x := range texts {
				got = append(got, string(x))
			}
			if ok != tc.ok || (ok && (seq != tc.seq || strings.Join(got, "|") != strings.Join(tc.want, "|"))) {
				t.Errorf("patchMessages(%s) = %q, %d, %v; want %q, %d, %v", tc.frame, got, seq, ok, tc.want, tc.seq, tc.ok)
			}
		})
	}
}

func TestMarker(t *testing.T) {
	t.Parallel()
	b := appendMarker(nil, 3, 17, 1732550000123456789)
	if string(b) != "w3#17@1732550000123456789" {
		t.Fatalf("appendMarker = %s", b)
	}
	for _, tc := range []struct {
		text       string
		w, seq, ok int
	}{
		{"w3#17@1732550000123456789", 3, 17, 1},
		{"w3#17@1732550000123456789 xxxx", 3, 17, 1},
		{"f#5@1", -1, 5, 1},
		{"w3#17@", 0, 0, 0},
		{"w3#17@12x", 0, 0, 0},
		{"w3#17@9999999999999999999", 0, 0, 0},
		{"w#1@2", 0, 0, 0},
		{"w1234567890#1@2", 0, 0, 0},
		{"hello", 0, 0, 0},
		{"", 0, 0, 0},
	} {
		w, seq, _, ok := parseMarker([]byte(tc.text))
		if ok != (tc.ok == 1) || ok && (w != tc.w || seq != tc.seq) {
			t.Errorf("parseMarker(%q) = %d, %d, %v", tc.text, w, seq, ok)
		}
	}
}

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
