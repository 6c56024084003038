package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestInspectOffline: `statecast inspect -data DIR` serves the inspector
// over a stopped server's log, read-only, until its context ends.
func TestInspectOffline(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	ann.Say("recorded before the inspection")
	ann.Expect("messageWritten")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	addr, stop := startInspect(t, []string{"-addr", "127.0.0.1:0"}, []string{"STATECAST_DATA=" + s.Config.Data})
	resp, err := http.Get("http://" + addr.String() + "/inspect/api/actions?type=message/write")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Actions []struct{ Summary string } }
	err = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if err != nil || len(p.Actions) != 1 || !strings.Contains(p.Actions[0].Summary, "recorded before the inspection") {
		t.Fatalf("actions: %+v, %v", p, err)
	}
	stop()
	for _, args := range [][]string{{"inspect", "-history", "0"}, {"inspect", "-data", t.TempDir()}, {"inspect", "extra"}} {
		if err := Run(context.Background(), args, nil); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
