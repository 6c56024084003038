package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/nats/natstest"
)

// TestInspectAndWhatifOnNATS: with -nats, `statecast inspect` and
// `statecast whatif` read a cluster's action log from its JetStream stream
// (of a node that has stopped), as they read a file log with -data.
func TestInspectAndWhatifOnNATS(t *testing.T) {
	nc := natstest.StartServer(t)
	s := chattest.Start(t, server.Config{Cluster: server.Cluster{NATS: nc.URL(0)}})
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	ann.Say("recorded in the stream")
	ann.Expect("messageWritten")
	ann.Say("refuse me later")
	ann.Expect("messageWritten")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	addr, stop := startInspect(t, []string{"-addr", "127.0.0.1:0", "-nats", nc.URL(0)}, nil)
	var p struct{ Actions []struct{ Summary string } }
	deadline := time.Now().Add(chattest.Timeout)
	for len(p.Actions) < 2 && time.Now().Before(deadline) { // the stream is read in the background
		resp, err := http.Get("http://" + addr.String() + "/inspect/api/actions?type=message/write")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(p.Actions) != 2 || !strings.Contains(p.Actions[0].Summary, "recorded in the stream") {
		t.Fatalf("inspect -nats: actions %+v, want the two messages", p.Actions)
	}
	stop()

	refuse := func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if w, ok := a.Payload.(actions.WriteMessage); ok && strings.HasPrefix(w.Message, "refuse") {
				return &actions.Error{Code: "refused", Message: "refused by the test"}
			}
			return next(ctx, a)
		}
	}
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"whatif", "-nats", nc.URL(0)}, nil, Output(&out, io.Discard), Middleware(refuse)); err != nil {
		t.Fatalf("whatif -nats: %v\n%s", err, out.String())
	}
	for _, want := range []string{"rejected now (1)", "refused by the test"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("whatif -nats printed no %q:\n%s", want, out.String())
		}
	}
}
