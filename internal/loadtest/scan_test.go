package loadtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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

// BenchmarkPatchMessages reads a patch as the server sends it under load:
// four messages added, each with its own removal from a full window.
func BenchmarkPatchMessages(b *testing.B) {
	var ops [][]byte
	for i := range 4 {
		m := actions.Message{ID: "0193a0c2-7f4e-7d3a-9b1c-2f8e4d6a1b3c", UserID: "0193a0c2-7f4e-7d3a-9b1c-2f8e4d6a1b3d",
			Username: "w3", Message: string(appendMarker(nil, i, 1700+i, 1732550000123456789)), Seq: uint64(9000 + i)}
		ops = append(ops, actions.AppendRemoveOp(nil, "/messages/0"), actions.AppendAddOp(nil, "/messages/-", actions.EncodeMessage(m)))
	}
	frame := actions.EncodePatch(9003, ops)
	b.SetBytes(int64(len(frame)))
	texts := make([][]byte, 0, 8)
	for b.Loop() {
		var ok bool
		if texts, _, ok = patchMessages(frame, texts[:0]); !ok || len(texts) != 4 {
			b.Fatalf("patchMessages: %d texts, ok %v", len(texts), ok)
		}
	}
}

// TestCompactPatchMessages: the fast path reads the frames statecast
// writes, users and removals included, and leaves any other shape to the
// full walk.
func TestCompactPatchMessages(t *testing.T) {
	t.Parallel()
	msg := func(text string) []byte {
		return actions.EncodeMessage(actions.Message{ID: "1", UserID: "u", Username: "ann", Message: text, Seq: 7})
	}
	frame := actions.EncodePatch(42, [][]byte{
		actions.AppendAddOp(nil, "/messages/-", msg("w1#0@9")),
		actions.AppendRemoveOp(nil, "/messages/0"),
		actions.AppendAddOp(nil, "/userList/-", actions.EncodeUser(actions.User{ID: "u", Username: "message"})),
		actions.AppendRemoveOp(nil, "/userList/3"),
		actions.AppendAddOp(nil, "/messages/-", msg(`w2#1@9 "x"`)),
	})
	texts, seq, ok := compactPatchMessages(frame, nil)
	if !ok || seq != 42 || len(texts) != 2 || string(texts[0]) != "w1#0@9" || string(texts[1]) != `w2#1@9 "x"` {
		t.Fatalf("compactPatchMessages(%s) = %q, %d, %v", frame, texts, seq, ok)
	}
	if texts, seq, ok := compactPatchMessages(actions.EncodePatch(5, nil), nil); !ok || seq != 5 || len(texts) != 0 {
		t.Fatalf("an empty patch: %q, %d, %v", texts, seq, ok)
	}
	for _, other := range []string{
		`{"event":"patch","seq":1,"ops":[{"op":"add","path":"\/messages\/-","value":{"message":"a"}}]}`, // an escaped path
		`{"seq":1,"event":"patch","ops":[]}`,
		`{"event":"patch","seq":1,"ops":[{"op":"add","path":"/messages/-","value":{"message":"a"}},]}`,
		`{"event":"patch","seq":1,"ops":[{"op":"add","path":"/messages/-","value":{"message":"a"}}],"x":1}`,
		`{"event":"patch","seq":1,"ops":[{"path":"/messages/-","op":"add","value":{"message":"a"}}]}`,
	} {
		before := [][]byte{[]byte("kept")}
		if texts, _, ok := compactPatchMessages([]byte(other), before); ok || len(texts) != 1 {
			t.Errorf("compactPatchMessages(%s) = %q, %v; want it left to the full walk", other, texts, ok)
		}
	}
}
