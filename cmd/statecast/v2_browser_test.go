package main

// client.js (transport/web/client.js, served at /client.js) end to end: in
// headless Chromium, a page that imports it mirrors a room while other
// clients chat, checked after every change against fast-json-patch (an
// independent RFC 6902 implementation, vendored in testdata) and at several
// points against fresh snapshots; and under Node, its Redux Toolkit adapter
// (testdata/v2client).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// serveFastJSONPatch serves testdata/fast-json-patch to pages of any
// origin (module scripts are fetched with CORS).
func serveFastJSONPatch(t *testing.T) string {
	t.Helper()
	files := http.FileServer(http.Dir("testdata/fast-json-patch"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if strings.HasSuffix(r.URL.Path, ".mjs") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// v2PageSetup starts client.js on a page of the server's origin. The page
// keeps, in window.v2, a second mirror made by fast-json-patch from the
// same frames, and after every change of client.js's state (while
// connected) compares the two, and checks that the previous state was not
// modified; it records any difference in v2.errors. While v2.offline is
// true, its sockets cannot connect.
const v2PageSetup = `(async () => {
  const { createClient } = await import('/client.js');
  const jsonpatch = await import(%s);
  const v2 = window.v2 = { checks: 0, errors: [], events: {}, fjp: null, sockets: [], offline: false };
  const canon = (v) => Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
  const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
  class Tracked extends WebSocket {
    constructor(url, protocols) {
      super(v2.offline ? 'ws://127.0.0.1:9/' : url, protocols);
      v2.sockets.push(this);
    }
  }
  const client = createClient({
    url: %s, username: 'page', WebSocket: Tracked, minDelayMs: 50, maxDelayMs: 200,
    onEvent: (msg) => {
      v2.events[msg.event] = (v2.events[msg.event] || 0) + 1;
      try {
        if (msg.event === 'snapshot') v2.fjp = jsonpatch.deepClone(msg.state);
        else if (msg.event === 'patch') v2.fjp = jsonpatch.applyPatch(v2.fjp, msg.ops, true, false).newDocument;
      } catch (e) {
        v2.errors.push('fast-json-patch: ' + e.message);
      }
    },
    onError: (e) => v2.errors.push('error frame: ' + JSON.stringify(e)),
  });
  let prev = client.getState(), prevJSON = JSON.stringify(prev);
  client.subscribe(() => {
    const st = client.getState();
    if (JSON.stringify(prev) !== prevJSON) v2.errors.push('an earlier state was modified: ' + prevJSON);
    prev = st;
    prevJSON = JSON.stringify(st);
    if (client.status !== 'connected') return;
    v2.checks++;
    if (!same(st, v2.fjp)) v2.errors.push('seq ' + client.seq + ': client.js ' + JSON.stringify(st) + ' fast-json-patch ' + JSON.stringify(v2.fjp));
  });
  window.client = client;
})()`

func TestBrowserV2Mirror(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-history", "4", "-grace", "1500ms", "-rate", "0", "-rate-per-address", "0")
	fjp := serveFastJSONPatch(t)
	b := newBrowser(t)
	const room = "/chat/v2_browser"

	// holder mirrors the room in Go; probes, second sockets of its id,
	// take fresh snapshots without changing the room.
	holder := s.joinV2(room, "holder", "holder")
	p := b.open("page", "http://"+s.addr+"/healthz")
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(v2PageSetup, jsValue(fjp+"/index.mjs"), jsValue(s.url(room))), chromedp.EvalAwaitPromise))
	p.waitEqual("status", `window.client.status`, "connected")
	holder.readOps(1) // the page joined

	check := func(when string) {
		t.Helper()
		// The page has every change the holder has...
		p.waitFor(fmt.Sprintf("the page at seq %d", holder.seq), fmt.Sprintf(`window.client.seq >= %d`, holder.seq))
		// ...and no other: both equal a fresh snapshot.
		probe, f := s.connectV2(room, "probe", nil, map[string]any{"id": "holder", "username": "holder", "token": holder.token})
		if f.Event != "snapshot" || probe.id != "holder" {
			t.Fatalf("%s: probe got %s", when, f.raw)
		}
		probe.leave()
		holder.token = probe.token
		var got struct {
			Seq    uint64
			State  json.RawMessage
			FJP    json.RawMessage
			Errors []string
			Checks int
		}
		raw := eval[string](p, `JSON.stringify({seq: client.seq, state: client.getState(), fjp: v2.fjp, errors: v2.errors, checks: v2.checks})`)
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Errors) > 0 {
			t.Fatalf("%s: the page found differences:\n%s", when, strings.Join(got.Errors, "\n"))
		}
		if got.Seq != holder.seq || !jsonEqual(got.State, probe.snapDoc) || !jsonEqual(got.FJP, probe.snapDoc) || !jsonEqual(holder.doc, probe.snapDoc) {
			t.Fatalf("%s: at seq %d (holder at %d, snapshot at %d)\nclient.js:        %s\nfast-json-patch:  %s\nholder:           %s\nsnapshot:         %s",
				when, got.Seq, holder.seq, probe.snapSeq, got.State, got.FJP, holder.doc, probe.snapDoc)
		}
	}
	check("after the page's snapshot")

	// A v1 user joins and writes.
	ann, _ := s.join(room, "ann", "ann <i>")
	holder.readOps(1)
	for _, text := range []string{"hello", "<b>bold</b> & \"quoted\"", "ünïcødé 😀"} {
		ann.write(text)
		ann.expectWritten()
		holder.readOps(1)
	}
	check("after a v1 user's messages")

	// A v2 user writes a burst (merged patches, window trims).
	bob := s.joinV2(room, "bob", "bob")
	holder.readOps(1)
	ann.expectPresence("joined", "bob", "bob")
	for i := range 8 {
		bob.writeID(fmt.Sprintf("burst %d", i), fmt.Sprintf("b%d", i))
	}
	var last uint64
	for i := range 8 {
		last = bob.awaitAck(fmt.Sprintf("b%d", i))
	}
	holder.catchUp(last)
	check("after a burst")

	// The page writes; its messages are acknowledged.
	p.do(chromedp.Evaluate[chromedp.Void](`client.send('from the page'); client.send('and again')`))
	p.waitEqual("the page's pending messages", `client.pending.length`, 0)
	holder.readOps(4) // two adds, two trims
	check("after the page's messages")

	// The page's socket drops; while it cannot connect, others write; it
	// resumes with exactly the missed changes.
	p.do(chromedp.Evaluate[chromedp.Void](`v2.offline = true; v2.sockets.at(-1).close(4001, 'drop')`))
	p.waitEqual("status", `client.status`, "reconnecting")
	bob.say("while the page was away", "away1")
	ann.write("me too")
	ann.expectWritten()
	holder.readOps(2)
	holder.readOps(2)
	p.do(chromedp.Evaluate[chromedp.Void](`v2.offline = false`))
	p.waitEqual("status", `client.status`, "connected")
	check("after a resume")
	if ev := eval[map[string]int](p, `v2.events`); ev["snapshot"] != 1 || ev["resumed"] != 1 {
		t.Fatalf("events %v: want one snapshot and one resumed", ev)
	}

	// A user leaves (after the grace period).
	ann.leave()
	ops, _ := holder.readOps(1)
	if ops[0].String() != "remove /userList/2" {
		t.Fatalf("holder: %v, want ann removed", ops)
	}
	check("after a leave")
	if n := eval[int](p, `v2.checks`); n < 15 {
		t.Fatalf("the page compared its mirrors %d times, want at least 15", n)
	}
}

// v2ClientDir is a Node project that runs client.js with Redux Toolkit.
const v2ClientDir = "testdata/v2client"

// TestV2ReduxToolkit runs testdata/v2client/v2client.mjs: client.js's
// connectStore with Redux Toolkit's configureStore under Node, against the
// server. See the script for every check.
func TestV2ReduxToolkit(t *testing.T) {
	t.Parallel()
	node, npm := nodeTools(t, "the client.js test under Node")
	npmInstall(t, npm, v2ClientDir, "ws", "@reduxjs/toolkit")
	s := startServer(t, "-grace", "3s")
	const room = "/chat/v2_redux"

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "v2client.mjs", "--timeout-ms", "20000", "http://"+s.addr, s.url(room))
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
	fresh := s.joinV2(room, "", "fresh")
	var store, snap struct {
		Messages json.RawMessage `json:"messages"`
		UserList []map[string]string
	}
	if err := json.Unmarshal(sum.Chat, &store); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(fresh.snapDoc, &snap); err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(store.Messages, snap.Messages) {
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
		ids(snap.UserList) != ids(store.UserList)+" "+fresh.id {
		t.Fatalf("user lists: store %v, snapshot %v", store.UserList, snap.UserList)
	}
	if got := fresh.state().texts(); strings.Join(got, "|") != "one|two|three|four|five|six (queued while away)|seven" {
		t.Fatalf("messages: %q", got)
	}
}
