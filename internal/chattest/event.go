package chattest

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Event is one decoded server frame: a JSON object with a string event.
// JSON numbers are float64.
type Event map[string]any

// ParseEvent decodes one server frame; it fails unless b is a JSON object
// with a string event.
func ParseEvent(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil || e == nil {
		return nil, fmt.Errorf("server sent a frame that is not a JSON object: %q", b)
	}
	if _, ok := e["event"].(string); !ok {
		return nil, fmt.Errorf("server frame without a string event: %q", b)
	}
	return e, nil
}

// Name returns the frame's event.
func (e Event) Name() string { return e.Str("event") }

// Has reports whether the frame has the field k (null included).
func (e Event) Has(k string) bool { _, ok := e[k]; return ok }

// Str returns the string field k, or "" if it is missing or not a string.
func (e Event) Str(k string) string { s, _ := e[k].(string); return s }

// List returns the array field k, or nil.
func (e Event) List(k string) []any { l, _ := e[k].([]any); return l }

// Obj returns the object field k, or nil.
func (e Event) Obj(k string) map[string]any { o, _ := e[k].(map[string]any); return o }

// Num returns the number field k, or 0.
func (e Event) Num(k string) float64 { n, _ := e[k].(float64); return n }

// Seq returns the seq field, or 0.
func (e Event) Seq() uint64 { return uint64(e.Num("seq")) }

// JSON returns field k encoded again (objects with their keys sorted), or
// nil if it is missing.
func (e Event) JSON(k string) []byte {
	v, ok := e[k]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// Decode decodes field k into v, failing the test if it does not fit.
func (e Event) Decode(t testing.TB, k string, v any) {
	t.Helper()
	if err := json.Unmarshal(e.JSON(k), v); err != nil {
		t.Fatalf("%s of %v: %v", k, e, err)
	}
}

// String returns the frame as JSON, its keys sorted.
func (e Event) String() string {
	b, _ := json.Marshal(map[string]any(e))
	return string(b)
}

// Connecting returns a connecting event with fields.
func Connecting(fields map[string]any) map[string]any {
	f := map[string]any{"event": "connecting"}
	for k, v := range fields {
		f[k] = v
	}
	return f
}

// Join dials path in v1, sends connecting with id and username, and
// returns the client with the `connected` reply.
func (s *Server) Join(t testing.TB, path, id, username string) (*Client, Event) {
	t.Helper()
	c := s.Dial(t, path)
	c.Send(map[string]any{"event": "connecting", "id": id, "username": username})
	return c, c.Expect("connected")
}
