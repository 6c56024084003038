package transport_test

// client.js (transport/web/client.js, served at /client.js) end to end: in
// headless Chromium, a page that imports it mirrors a room while other
// clients chat, checked after every change against fast-json-patch (an
// independent RFC 6902 implementation, vendored in testdata) and at several
// points against fresh snapshots; and under Node, its Redux Toolkit adapter
// (testdata/v2client).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
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
	s := chattest.Start(t, server.Config{History: 4, Grace: 1500 * time.Millisecond, RateLimit: noRateLimit})
	fjp := serveFastJSONPatch(t)
	b := newBrowser(t)
	const room = "/chat/v2_browser"

	// holder mirrors the room in Go; probes, second sockets of its id,
	// take fresh snapshots without changing the room.
	holder := s.JoinV2(t, room, "holder", "holder")
	p := b.open("page", "http://"+s.Addr().String()+"/healthz")
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(v2PageSetup, jsValue(fjp+"/index.mjs"), jsValue(s.URL(room))), chromedp.EvalAwaitPromise))
	p.waitEqual("status", `window.client.status`, "connected")
	holder.ReadOps(1) // the page joined

	check := func(when string) {
		t.Helper()
		// The page has every change the holder has...
		p.waitFor(fmt.Sprintf("the page at seq %d", holder.LastSeq), fmt.Sprintf(`window.client.seq >= %d`, holder.LastSeq))
		// ...and no other: both equal a fresh snapshot.
		probe, f := s.ConnectV2(t, room, "probe", nil, map[string]any{"id": "holder", "username": "holder", "token": holder.Token})
		if f.Name() != "snapshot" || probe.ID != "holder" {
			t.Fatalf("%s: probe got %s", when, f)
		}
		probe.Close()
		holder.Token = probe.Token
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
		snapSeq, snapDoc := probe.Snapshot()
		if got.Seq != holder.LastSeq || !chattest.JSONEqual(got.State, snapDoc) || !chattest.JSONEqual(got.FJP, snapDoc) || !chattest.JSONEqual(holder.Mirror(), snapDoc) {
			t.Fatalf("%s: at seq %d (holder at %d, snapshot at %d)\nclient.js:        %s\nfast-json-patch:  %s\nholder:           %s\nsnapshot:         %s",
				when, got.Seq, holder.LastSeq, snapSeq, got.State, got.FJP, holder.Mirror(), snapDoc)
		}
	}
	check("after the page's snapshot")

	// A v1 user joins and writes.
	ann, _ := s.Join(t, room, "ann", "ann <i>")
	holder.ReadOps(1)
	for _, text := range []string{"hello", "<b>bold</b> & \"quoted\"", "ünïcødé 😀"} {
		ann.Say(text)
		expectWritten(t, ann)
		holder.ReadOps(1)
	}
	check("after a v1 user's messages")

	// A v2 user writes a burst (merged patches, window trims).
	bob := s.JoinV2(t, room, "bob", "bob")
	holder.ReadOps(1)
	expectPresence(t, ann, "joined", "bob", "bob")
	for i := range 8 {
		bob.SayID(fmt.Sprintf("burst %d", i), fmt.Sprintf("b%d", i))
	}
	var last uint64
	for i := range 8 {
		last = bob.AwaitAck(fmt.Sprintf("b%d", i))
	}
	holder.CatchUp(last)
	check("after a burst")

	// The page writes; its messages are acknowledged.
	p.do(chromedp.Evaluate[chromedp.Void](`client.send('from the page'); client.send('and again')`))
	p.waitEqual("the page's pending messages", `client.pending.length`, 0)
	holder.ReadOps(4) // two adds, two trims
	check("after the page's messages")

	// The page's socket drops; while it cannot connect, others write; it
	// resumes with exactly the missed changes.
	p.do(chromedp.Evaluate[chromedp.Void](`v2.offline = true; v2.sockets.at(-1).close(4001, 'drop')`))
	p.waitEqual("status", `client.status`, "reconnecting")
	bob.SayV2("while the page was away", "away1")
	ann.Say("me too")
	expectWritten(t, ann)
	holder.ReadOps(2)
	holder.ReadOps(2)
	p.do(chromedp.Evaluate[chromedp.Void](`v2.offline = false`))
	p.waitEqual("status", `client.status`, "connected")
	check("after a resume")
	if ev := eval[map[string]int](p, `v2.events`); ev["snapshot"] != 1 || ev["resumed"] != 1 {
		t.Fatalf("events %v: want one snapshot and one resumed", ev)
	}

	// A user leaves (after the grace period).
	ann.Close()
	ops, _ := holder.ReadOps(1)
	if ops[0].String() != "remove /userList/2" {
		t.Fatalf("holder: %v, want ann removed", ops)
	}
	check("after a leave")
	if n := eval[int](p, `v2.checks`); n < 15 {
		t.Fatalf("the page compared its mirrors %d times, want at least 15", n)
	}
}
