package inspect_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/statecast/statecast/inspect"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

const token = "inspect-test-token"

// recorded returns a data directory whose log holds a short chat in rooms
// r and s: ann and bob join r, say three things, bob leaves; cid joins s.
func recorded(t *testing.T) string {
	t.Helper()
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/r", "u-bob", "bob")
	for _, text := range []string{"hello", "hi ann", "the cake is a lie"} {
		ann.Say(text)
		written(ann)
	}
	bob.Close()
	cid, _ := s.Join(t, "/chat/s", "u-cid", "cid")
	cid.Say("alone here")
	written(cid)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	return s.Config.Data
}

// written waits for c's next messageWritten.
func written(c *chattest.Client) chattest.Event {
	return c.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" })
}

// open returns a handler over dir's log, closed when the test ends.
func open(t *testing.T, dir string) *inspect.Handler {
	t.Helper()
	h, err := inspect.New(context.Background(), inspect.Config{Source: inspect.Dir(dir), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// get serves path from a loopback client and decodes the JSON answer into v.
func get(t testing.TB, h http.Handler, path string, v any) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if v != nil && w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, w.Body.String())
		}
	}
	return w.Code
}

// page is the answer of /inspect/api/actions.
type page struct {
	Actions []inspect.Entry
	Older   uint64
	Newer   uint64
	Last    uint64
}

// find returns the entry of the first action of type typ whose summary is
// summary.
func find(t *testing.T, p page, typ, summary string) inspect.Entry {
	t.Helper()
	for _, e := range p.Actions {
		if e.Type == typ && e.Summary == summary {
			return e
		}
	}
	t.Fatalf("no %s %q in %+v", typ, summary, p.Actions)
	return inspect.Entry{}
}
