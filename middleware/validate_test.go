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
		return &actions.Action{Type: actions.TypeConnect, User: user, Payload: actions.Connect{Username: name}}
	}
	tests := []struct {
		name string
		a    *actions.Action
		code string // "" means accepted
	}{
		{"plain", connect("1", "ann"), ""},
		{"64 code points", connect("1", strings.Repeat("é", 64)), ""},
		{"65 code points", connect("1", strings.Repeat("é", 65)), actions.CodeTooLong},
		{"64 emoji", connect("1", strings.Repeat("😀", 64)), ""},
		{"empty name", connect("1", ""), actions.CodeMissingField},
		{"no user id", connect("", "ann"), actions.CodeMissingField},
		{"invalid UTF-8", connect("1", "a\xffb"), actions.CodeWrongType},
		{"other actions pass", &actions.Action{Type: actions.TypeWriteMessage}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			term, err := through(middleware.Validate(), tt.a)
			if got := errCode(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if reached := len(term.got) == 1; reached != (tt.code == "") {
				t.Fatalf("reached the reducer: %v, want %v", reached, tt.code == "")
			}
		})
	}
}
