package actions

import (
	"errors"
	"fmt"
)

// Error codes sent to clients in the `error` event. They are stable: clients
// may branch on them.
const (
	CodeInvalidJSON      = "invalid_json"      // the frame is not valid JSON
	CodeNotAnObject      = "not_an_object"     // valid JSON, but not an object
	CodeMissingField     = "missing_field"     // a required field is missing or empty
	CodeWrongType        = "wrong_type"        // a field has the wrong JSON type
	CodeUnknownEvent     = "unknown_event"     // `event` names no known event
	CodeNotConnected     = "not_connected"     // an event other than `connecting` before `connecting`
	CodeAlreadyConnected = "already_connected" // a second `connecting` on one socket
	CodeTooLong          = "too_long"          // a field is longer than allowed
	CodeInternal         = "internal"          // the server failed; the action was not applied
	CodeUnavailable      = "unavailable"       // the server is shutting down
)

// Error is a rejection that a client can act on. Code is the wire
// `error.code`, Message is for humans, Ref names the offending event when it
// is known. Middleware rejects an action by returning an *Error.
type Error struct {
	Code    string
	Message string
	Ref     string
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements the error interface.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// AsError returns err as an *Error. An error that is not one becomes
// CodeInternal, with a message that does not leak its details to clients.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal server error"}
}
