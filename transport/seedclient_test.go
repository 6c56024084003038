package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// seedClientDir holds the seed document's JavaScript clients (the useSocket
// hook and the Redux chatMiddleware with its Socket class and chatSlice) as
// a small Node project; seedclient.mjs runs them against a server.
const seedClientDir = "testdata/seedclient"

// seedSummary is the JSON line seedclient.mjs prints on success.
type seedSummary struct {
	OK      bool                            `json:"ok"`
	GraceMs int                             `json:"graceMs"`
	IDs     struct{ Rita, Ann, Bob string } `json:"ids"`
	Reload  struct {
		ReconnectedAfterMs         int `json:"reconnectedAfterMs"`
		PresenceEventsSeenByOthers int `json:"presenceEventsSeenByOthers"`
	} `json:"reload"`
	Drop struct {
		ReconnectedAfterMs int    `json:"reconnectedAfterMs"`
		Outcome            string `json:"outcome"`
	} `json:"drop"`
	Leave struct {
		DisconnectedAfterMs map[string]int `json:"disconnectedAfterMs"`
	} `json:"leave"`
	Redux struct {
		Chat struct {
			Messages []struct {
				Username string `json:"username"`
				Message  string `json:"message"`
			} `json:"messages"`
			UserList []struct {
				ID       string `json:"id"`
				Username string `json:"username"`
			} `json:"userList"`
			IsConnected bool `json:"isConnected"`
		} `json:"chat"`
	} `json:"redux"`
	Sockets int            `json:"sockets"`
	Frames  map[string]int `json:"frames"`
}

// TestSeedClients runs the seed's own JavaScript clients, unchanged, against
// statecast with node: three users join /chat, see each other, write, one
// reloads its page inside the grace period, one's connection drops and the
// hook reconnects, one leaves for good. See seedclient.mjs for every check.
func TestSeedClients(t *testing.T) {
	node, npm := nodeTools(t, "the seed client test")
	npmInstall(t, npm, seedClientDir, "ws", "@reduxjs/toolkit")

	const grace = 300 * time.Millisecond
	s := chattest.Start(t, server.Config{Grace: grace})

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "seedclient.mjs",
		"--grace-ms", "300", "--timeout-ms", "20000", s.URL("/chat"))
	cmd.Dir = seedClientDir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("node seedclient.mjs failed after %v: %v\n--- stderr:\n%s\n--- stdout:\n%s",
			time.Since(start).Round(time.Millisecond), err, stderr.String(), stdout.String())
	}

	out := strings.TrimSpace(stdout.String())
	var sum seedSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("seedclient.mjs summary is not one JSON object: %v\n%s", err, out)
	}
	if !sum.OK {
		t.Fatalf("summary not ok: %s", out)
	}
	if sum.GraceMs != 300 {
		t.Errorf("graceMs = %d, want 300", sum.GraceMs)
	}
	ids := map[string]bool{sum.IDs.Rita: true, sum.IDs.Ann: true, sum.IDs.Bob: true}
	if len(ids) != 3 || ids[""] {
		t.Errorf("ids = %+v, want three distinct non-empty ids", sum.IDs)
	}

	type msg struct{ Username, Message string }
	want := []msg{
		{"ann", "hello from ann"},
		{"rita", "hi ann, rita here"},
		{"bob", "one"},
		{"bob", "two"},
		{"bob", "three, signed mallory"}, // sent with username "mallory"
		{"ann", "back after reload"},
	}
	var got []msg
	for _, m := range sum.Redux.Chat.Messages {
		got = append(got, msg{m.Username, m.Message})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redux chat.messages = %+v, want %+v", got, want)
	}
	if ul := sum.Redux.Chat.UserList; len(ul) != 1 || ul[0].ID != sum.IDs.Ann || ul[0].Username != "ann" {
		t.Errorf("Redux chat.userList = %+v, want only ann (%s)", ul, sum.IDs.Ann)
	}
	if !sum.Redux.Chat.IsConnected {
		t.Error("Redux chat.isConnected = false")
	}
	if sum.Reload.PresenceEventsSeenByOthers != 0 {
		t.Errorf("others saw %d joined/disconnected after a reload", sum.Reload.PresenceEventsSeenByOthers)
	}
	if o := sum.Drop.Outcome; o != "seamless" && o != "left-and-rejoined" {
		t.Errorf("drop outcome = %q", o)
	}
	for _, who := range []string{"rita", "ann"} {
		ms, ok := sum.Leave.DisconnectedAfterMs[who]
		if !ok || time.Duration(ms)*time.Millisecond < grace-5*time.Millisecond {
			t.Errorf("%s saw bob's disconnected after %d ms (present %v), want at least the grace period %v", who, ms, ok, grace)
		}
	}
	if sum.Sockets != 5 {
		t.Errorf("sockets = %d, want 5", sum.Sockets)
	}
	if n := sum.Frames["connected"]; n != 5 {
		t.Errorf("connected frames = %d, want 5 (one per socket)", n)
	}
	t.Logf("seed clients passed in %v: drop %s (reconnected after %d ms), bob's disconnected after %v ms, frames %v",
		time.Since(start).Round(time.Millisecond), sum.Drop.Outcome, sum.Drop.ReconnectedAfterMs, sum.Leave.DisconnectedAfterMs, sum.Frames)
}
