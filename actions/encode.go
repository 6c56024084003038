package actions

import (
	"encoding/json"
	"time"
)

// Server events of the v1 (seed) dialect.
const (
	EventConnected      = "connected"
	EventJoined         = "joined"
	EventDisconnected   = "disconnected"
	EventMessageWritten = "messageWritten"
	EventError          = "error"
)

// Message is one chat message as the state holds it and the wire shows it.
type Message struct {
	ID       string    `json:"id"`
	UserID   string    `json:"userId"`
	Username string    `json:"username"`
	Message  string    `json:"message"`
	At       time.Time `json:"at"`
	Seq      uint64    `json:"seq"`
	ClientID string    `json:"clientId,omitempty"`
}

// User is one entry of a room's user list on the wire.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// EncodeMessage returns the JSON object of m, as v2 states carry it.
// Callers cache it: a message is encoded once, however often it is sent.
func EncodeMessage(m Message) []byte {
	m.At = m.At.UTC()
	return mustMarshal(m)
}

// v1Message is a message as v1's messagesList carries it: what seed
// clients read (username, message), the author's id and the seq. The
// message's own id and time stay in v2 and the log: every v1 message event
// repeats the whole retained window, so each byte of an object is sent
// window × sockets times.
type v1Message struct {
	UserID   string `json:"userId"`
	Username string `json:"username"`
	Message  string `json:"message"`
	Seq      uint64 `json:"seq"`
}

// EncodeMessageV1 returns the JSON object of m as it appears in v1's
// messagesList. Callers cache it, like EncodeMessage's.
func EncodeMessageV1(m Message) []byte {
	return mustMarshal(v1Message{UserID: m.UserID, Username: m.Username, Message: m.Message, Seq: m.Seq})
}

// EncodeConnected returns the v1 `connected` frame. users holds the
// encoded user list (EncodeUser), messages the encoded messages
// (EncodeMessageV1), oldest first. token, if not empty, is
// the token handed to a client that sent one (an extra field seed clients
// ignore).
func EncodeConnected(self User, users, messages [][]byte, token string) []byte {
	b := make([]byte, 0, listSize(users)+listSize(messages)+128)
	b = append(b, `{"event":"connected","id":`...)
	b = append(b, mustMarshal(self.ID)...)
	b = appendName(b, self.Username)
	if token != "" {
		b = append(b, `,"token":`...)
		b = append(b, mustMarshal(token)...)
	}
	b = append(b, `,"connectedUserList":`...)
	b = AppendList(b, users)
	b = append(b, `,"messagesList":`...)
	b = AppendList(b, messages)
	return append(b, '}')
}

// EncodePresence returns the v1 `joined` or `disconnected` frame for u.
func EncodePresence(event string, u User) []byte {
	b := append([]byte(`{"event":`), mustMarshal(event)...)
	b = append(b, `,"id":`...)
	b = append(b, mustMarshal(u.ID)...)
	b = appendName(b, u.Username)
	return append(b, '}')
}

// EncodeMessageWritten returns the v1 `messageWritten` frame whose
// messagesList is the given encoded messages, oldest first.
func EncodeMessageWritten(messages [][]byte) []byte {
	b := make([]byte, 0, listSize(messages)+48)
	b = append(b, `{"event":"messageWritten","messagesList":`...)
	b = AppendList(b, messages)
	return append(b, '}')
}

// EncodeError returns the `error` frame for e.
func EncodeError(e *Error) []byte {
	return mustMarshal(struct {
		Event      string `json:"event"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		Ref        string `json:"ref,omitempty"`
		RetryAfter int64  `json:"retryAfter,omitempty"`
	}{EventError, e.Code, e.Message, e.Ref, retryMillis(e.RetryAfter)})
}

// retryMillis rounds d up to whole milliseconds, so that a client that
// waits that long never comes back too early.
func retryMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// AppendList appends the JSON array of the already encoded items to b.
func AppendList(b []byte, items [][]byte) []byte {
	b = append(b, '[')
	for i, item := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	return append(b, ']')
}

func listSize(items [][]byte) int {
	n := 2 + len(items)
	for _, item := range items {
		n += len(item)
	}
	return n
}

// appendName writes both `username` and `name`: the seed clients read either.
func appendName(b []byte, name string) []byte {
	quoted := mustMarshal(name)
	b = append(b, `,"username":`...)
	b = append(b, quoted...)
	b = append(b, `,"name":`...)
	return append(b, quoted...)
}

// mustMarshal encodes values that cannot fail to encode (strings, and
// structs of strings, numbers and times).
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("actions: encoding " + err.Error())
	}
	return b
}
