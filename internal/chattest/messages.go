package chattest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Message is one entry of a v1 messagesList.
type Message struct {
	ID, UserID, Username, Message, At string
	Seq                               float64
}

func (m Message) String() string { return fmt.Sprintf("%s:%q", m.Username, m.Message) }

// Messages returns e's messagesList, and fails the test unless it is a
// JSON array of objects with a string username and message.
func (e Event) Messages(t testing.TB) []Message {
	t.Helper()
	raw, ok := e["messagesList"].([]any)
	if !ok {
		t.Fatalf("messagesList missing or not an array: %v", e)
	}
	out := make([]Message, len(raw))
	for i, x := range raw {
		o, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("messagesList[%d] is not an object: %v", i, e)
		}
		u, ok1 := o["username"].(string)
		m, ok2 := o["message"].(string)
		if !ok1 || !ok2 {
			t.Fatalf("messagesList[%d] lacks a string username or message: %v", i, o)
		}
		out[i] = Message{Username: u, Message: m}
		out[i].ID, _ = o["id"].(string)
		out[i].UserID, _ = o["userId"].(string)
		out[i].At, _ = o["at"].(string)
		out[i].Seq, _ = o["seq"].(float64)
	}
	return out
}

// ServingLog is a log writer for a server run by a command (its logger
// output): Await returns once the server logged that it listens, so that
// a test stops the command only after its start.
type ServingLog struct {
	once    sync.Once
	serving chan struct{}
}

// NewServingLog returns a ServingLog that has seen nothing yet.
func NewServingLog() *ServingLog { return &ServingLog{serving: make(chan struct{})} }

func (w *ServingLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"statecast serving"`)) {
		w.once.Do(func() { close(w.serving) })
	}
	return len(p), nil
}

// Await fails the test unless the server started within Timeout.
func (w *ServingLog) Await(t testing.TB) {
	t.Helper()
	select {
	case <-w.serving:
	case <-time.After(Timeout):
		t.Fatal("the command did not start serving within", Timeout)
	}
}
