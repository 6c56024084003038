package actions

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Client events: the values of the `event` field a client may send.
const (
	EventConnecting   = "connecting"
	EventWriteMessage = "writeMessage"
)

// Frame is one decoded client frame. Only the fields of its Event are set.
type Frame struct {
	// Event is EventConnecting or EventWriteMessage.
	Event string
	// ID is the user id of `connecting`; numbers become their decimal
	// string, and "" means the client sent none.
	ID string
	// Username is the name of `connecting` (`username`, else `name`).
	Username string
	// Token is the optional token of `connecting`.
	Token string
	// LastSeq is the optional `lastSeq` of `connecting`; HasLastSeq says
	// whether it was sent.
	LastSeq    uint64
	HasLastSeq bool
	// Message is the text of `writeMessage`.
	Message string
	// ClientID is the optional idempotency key of `writeMessage`.
	ClientID string
}

// DecodeFrame parses one text frame from a client. It never panics: any
// input either yields a Frame or an *Error saying what is wrong with it, with
// Ref set to the event name when the frame got that far.
//
// Keys are matched exactly (`Event` is not `event`); when a key repeats, the
// last one wins, as in JavaScript's JSON.parse.
func DecodeFrame(data []byte) (Frame, *Error) {
	var f Frame
	if !utf8.Valid(data) {
		return f, Errorf(CodeInvalidUTF8, "the frame is not valid UTF-8")
	}
	if !json.Valid(data) {
		return f, Errorf(CodeInvalidJSON, "the frame is not valid JSON")
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return f, Errorf(CodeNotAnObject, "the frame must be a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return f, Errorf(CodeInvalidJSON, "the frame is not valid JSON")
	}
	event, err := stringField(fields, "event", "", true)
	if err != nil {
		return f, err
	}
	f.Event = event
	switch event {
	case EventConnecting:
		err = f.decodeConnecting(fields)
	case EventWriteMessage:
		err = f.decodeWriteMessage(fields)
	default:
		err = Errorf(CodeUnknownEvent, "unknown event %q", truncate(event, 64))
	}
	if err != nil {
		err.Ref = truncate(event, 64)
	}
	return f, err
}

func (f *Frame) decodeConnecting(fields map[string]json.RawMessage) *Error {
	id, err := idField(fields["id"])
	if err != nil {
		return err
	}
	f.ID = id
	name, err := stringField(fields, "username", "", false)
	if err != nil {
		return err
	}
	if name == "" {
		if name, err = stringField(fields, "name", "", false); err != nil {
			return err
		}
	}
	if name == "" {
		return Errorf(CodeMissingField, "connecting needs a non-empty username")
	}
	f.Username = name
	if f.Token, err = stringField(fields, "token", "", false); err != nil {
		return err
	}
	if raw, ok := fields["lastSeq"]; ok && !isNull(raw) {
		n, perr := strconv.ParseUint(string(raw), 10, 64)
		if perr != nil {
			return Errorf(CodeWrongType, "lastSeq must be a non-negative integer")
		}
		f.LastSeq, f.HasLastSeq = n, true
	}
	return nil
}

func (f *Frame) decodeWriteMessage(fields map[string]json.RawMessage) *Error {
	raw, ok := fields["message"]
	if !ok || isNull(raw) {
		return Errorf(CodeMissingField, "writeMessage needs a message")
	}
	if err := json.Unmarshal(raw, &f.Message); err != nil {
		return Errorf(CodeWrongType, "message must be a string")
	}
	var err *Error
	f.ClientID, err = stringField(fields, "clientId", "", false)
	return err
}

// stringField reads fields[key] as a string. A missing or null field gives
// def, or CodeMissingField when required is set.
func stringField(fields map[string]json.RawMessage, key, def string, required bool) (string, *Error) {
	raw, ok := fields[key]
	if !ok || isNull(raw) {
		if required {
			return "", Errorf(CodeMissingField, "the frame needs a string field %q", key)
		}
		return def, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", Errorf(CodeWrongType, "%s must be a string", key)
	}
	return s, nil
}

// idField reads the `id` of `connecting`: a string, or a number that becomes
// its decimal string as JavaScript's String(n) writes it.
func idField(raw json.RawMessage) (string, *Error) {
	if raw == nil || isNull(raw) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", Errorf(CodeWrongType, "id must be a string or a number")
		}
		return s, nil
	}
	lit := string(raw)
	if !strings.ContainsAny(lit, "0123456789") || strings.ContainsAny(lit, "tfn[{") {
		return "", Errorf(CodeWrongType, "id must be a string or a number")
	}
	if !strings.ContainsAny(lit, ".eE") {
		if lit == "-0" {
			return "0", nil
		}
		return lit, nil
	}
	n, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return "", Errorf(CodeWrongType, "id must be a finite number")
	}
	if n == 0 {
		return "0", nil // -0.0 too: String(-0) is "0", as for the literal -0
	}
	return strconv.FormatFloat(n, 'f', -1, 64), nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// truncate shortens s to at most n runes, so that error texts stay small.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
