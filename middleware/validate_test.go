package middleware_test

import (
	"strings"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	connect := func(user, name string) *actions.Action {
		return &actions.Action{Type: actions.TypeConnect, Room: "r", User: user, Payload: actions.Connect{Username: name}}
	}
	write := func(msg, clientID string) *actions.Action {
		return &actions.Action{Type: actions.TypeWriteMessage, Room: "r", User: "u", Payload: actions.WriteMessage{Message: msg, ClientID: clientID}}
	}
	post := func(name, msg string) *actions.Action {
		return &actions.Action{Type: actions.TypePostMessage, Room: "r", User: "bot", Payload: actions.PostMessage{Username: name, Message: msg}}
	}
	limits := middleware.Limits{Message: 10}
	tests := []struct {
		name string
		a    *actions.Action
		code string // "" means accepted
		ref  string
	}{
		{"plain connect", connect("1", "ann"), "", ""},
		{"64 code points", connect("1", strings.Repeat("é", 64)), "", ""},
		{"65 code points", connect("1", strings.Repeat("é", 65)), actions.CodeUsernameTooLong, "connecting"},
		{"64 emoji", connect("1", strings.Repeat("😀", 64)), "", ""},
		{"empty name", connect("1", ""), actions.CodeMissingField, "connecting"},
		{"no user id", connect("", "ann"), actions.CodeMissingField, "connecting"},
		{"id of 128", connect(strings.Repeat("1", 128), "ann"), "", ""},
		{"id of 129", connect(strings.Repeat("1", 129), "ann"), actions.CodeIDTooLong, "connecting"},
		{"invalid UTF-8 name", connect("1", "a\xffb"), actions.CodeInvalidUTF8, "connecting"},
		{"invalid UTF-8 id", connect("\xff", "ann"), actions.CodeInvalidUTF8, "connecting"},
		{"message at the limit", write(strings.Repeat("ж", 10), ""), "", ""},
		{"message over the limit", write(strings.Repeat("ж", 11), ""), actions.CodeMessageTooLong, "writeMessage"},
		{"ASCII message at the limit", write(strings.Repeat("x", 10), ""), "", ""},
		{"ASCII message over the limit", write(strings.Repeat("x", 11), ""), actions.CodeMessageTooLong, "writeMessage"},
		{"bytes over the limit, code points within", write(strings.Repeat("ж", 6), ""), "", ""},
		{"empty message", write("", ""), "", ""},
		{"invalid UTF-8 message", write("\xc3", ""), actions.CodeInvalidUTF8, "writeMessage"},
		{"clientId over the limit", write("hi", strings.Repeat("c", 129)), actions.CodeClientIDTooLong, "writeMessage"},
		{"post", post("bot", "hi"), "", ""},
		{"post too long", post("bot", strings.Repeat("x", 11)), actions.CodeMessageTooLong, ""},
		{"bad room", &actions.Action{Type: actions.TypeOpenSession, Room: "a b"}, actions.CodeInvalidRoom, ""},
		{"empty room", &actions.Action{Type: actions.TypeOpenSession}, actions.CodeInvalidRoom, ""},
		{"server start needs no room", &actions.Action{Type: actions.TypeServerStart}, "", ""},
		{"node down needs no room", &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "n1"}}, "", ""},
		{"node down needs a node", &actions.Action{Type: actions.TypeNodeDown}, actions.CodeMissingField, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			term, err := through(middleware.Validate(limits), tt.a)
			if got := errCode(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if err != nil && actions.AsError(err).Ref != tt.ref {
				t.Fatalf("ref = %q, want %q", actions.AsError(err).Ref, tt.ref)
			}
			if reached := len(term.got) == 1; reached != (tt.code == "") {
				t.Fatalf("reached the reducer: %v, want %v", reached, tt.code == "")
			}
		})
	}
}
