package actions

import (
	"errors"
	"fmt"
	"time"
)

// Error codes sent to clients in the `error` event. They are stable: clients
// may branch on them.
const (
	CodeInvalidJSON      = "invalid_json"       // the frame is not valid JSON
	CodeNotAnObject      = "not_an_object"      // valid JSON, but not an object
	CodeMissingField     = "missing_field"      // a required field is missing or empty
	CodeWrongType        = "wrong_type"         // a field has the wrong JSON type
	CodeUnknownEvent     = "unknown_event"      // `event` names no known event
	CodeNotConnected     = "not_connected"      // an event other than `connecting` before `connecting`
	CodeAlreadyConnected = "already_connected"  // a second `connecting` on one socket
	CodeInvalidUTF8      = "invalid_utf8"       // the frame or a field is not valid UTF-8
	CodeUsernameTooLong  = "username_too_long"  // a username over the limit
	CodeMessageTooLong   = "message_too_long"   // a message over the limit
	CodeIDTooLong        = "id_too_long"        // a user id over the limit
	CodeClientIDTooLong  = "client_id_too_long" // a clientId over the limit
	CodeInvalidRoom      = "invalid_room"       // a room name outside [A-Za-z0-9_-]{1,64}
	CodeInternal         = "internal"           // the server failed; the action was not applied
	CodeUnconfirmed      = "unconfirmed"        // a cluster's log did not confirm the action in time: it may still be applied; re-send with the same clientId
	CodeUnavailable      = "unavailable"        // the server cannot take the action now (shutting down, its log failing); retry after retryAfter
	CodeRateLimited      = "rate_limited"       // too many actions too fast; the message says when to retry
	CodeTokenMissing     = "token_missing"      // authentication is on and `connecting` has no token
	CodeTokenInvalid     = "token_invalid"      // a token that is malformed, forged, of a wrong algorithm, not yet valid or missing claims
	CodeTokenExpired     = "token_expired"      // a token past its exp
)

// Error is a rejection that a client can act on. Code is the wire
// `error.code`, Message is for humans, Ref names the offending event when it
// is known. Middleware rejects an action by returning an *Error.
//
// Close, when not zero, is a WebSocket close code (for example 1008 for a
// policy violation): the transport sends the `error` event, then closes
// the socket with that code.
//
// RetryAfter, when not zero, tells the client how long to wait before it
// sends the action again (the wire `retryAfter`, in milliseconds): set on
// every transient refusal (rate_limited, unconfirmed, unavailable).
type Error struct {
	Code       string
	Message    string
	Ref        string
	Close      int
	RetryAfter time.Duration
}

// ClosePolicy is the close code for policy violations (rate limits,
// authentication, repeated abuse).
const ClosePolicy = 1008

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
