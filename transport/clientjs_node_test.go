package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// v2ClientDir is a Node project that runs client.js with Redux Toolkit.
const v2ClientDir = "testdata/v2client"

// TestV2ReduxToolkit runs testdata/v2client/v2client.mjs: client.js's
// connectStore with Redux Toolkit's configureStore under Node, against the
// server. See the script for every check.
func TestV2ReduxToolkit(t *testing.T) {
	t.Parallel()
	node, npm := nodeTools(t, "the client.js test under Node")
	npmInstall(t, npm, v2ClientDir, "ws", "@reduxjs/toolkit")
	s := chattest.Start(t, server.Config{Grace: 3 * time.Second})
	const room = "/chat/v2_redux"

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "v2client.mjs", "--timeout-ms", "20000", "http://"+s.Addr().String(), s.URL(room))
	cmd.Dir = v2ClientDir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node v2client.mjs: %v\n--- stderr:\n%s\n--- stdout:\n%s", err, stderr.String(), stdout.String())
	}
	var sum struct {
		OK      bool
		ID      string
		Peer    string
		Frames  map[string]int
		Actions map[string]int
		Errors  []json.RawMessage
		Chat    json.RawMessage
	}
	out := strings.TrimSpace(stdout.String())
	if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.OK {
		t.Fatalf("v2client.mjs summary: %v\n%s", err, out)
	}
	if len(sum.Errors) > 0 || sum.Frames["resumed"] != 2 || sum.Actions["statecast/patch"] == 0 {
		t.Fatalf("summary: %s", out)
	}

	// The store's final state equals a fresh snapshot, but for the
	// snapshot's own user.
	fresh := s.JoinV2(t, room, "", "fresh")
	var store, snap struct {
		Messages json.RawMessage `json:"messages"`
		UserList []map[string]string
	}
	if err := json.Unmarshal(sum.Chat, &store); err != nil {
		t.Fatal(err)
	}
	_, freshDoc := fresh.Snapshot()
	if err := json.Unmarshal(freshDoc, &snap); err != nil {
		t.Fatal(err)
	}
	if !chattest.JSONEqual(store.Messages, snap.Messages) {
		t.Fatalf("the store's messages differ from a fresh snapshot's:\nstore:    %s\nsnapshot: %s", store.Messages, snap.Messages)
	}
	ids := func(list []map[string]string) string {
		var out []string
		for _, u := range list {
			out = append(out, u["id"])
		}
		return strings.Join(out, " ")
	}
	if a, b := sum.ID+" "+sum.Peer, sum.Peer+" "+sum.ID; ids(store.UserList) != a && ids(store.UserList) != b ||
		ids(snap.UserList) != ids(store.UserList)+" "+fresh.ID {
		t.Fatalf("user lists: store %v, snapshot %v", store.UserList, snap.UserList)
	}
	if got := fresh.State().Texts(); strings.Join(got, "|") != "one|two|three|four|five|six (queued while away)|seven" {
		t.Fatalf("messages: %q", got)
	}
}
