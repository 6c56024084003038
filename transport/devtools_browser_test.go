package transport_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// devToolsPage stands in for the Redux DevTools extension's API, then runs
// client.js: connecting, a message, its ack. window.dt records what the
// client told the extension.
const devToolsPage = `(async () => {
  const dt = window.dt = { connects: [], inits: [], sent: [] };
  window.__REDUX_DEVTOOLS_EXTENSION__ = { connect(opts) {
    dt.connects.push(opts);
    return { init(state) { dt.inits.push(state); }, send(action, state) { dt.sent.push({ action, state }); }, subscribe() {} };
  } };
  const { createClient } = await import('/client.js');
  const chat = window.chat = createClient({ url: location.origin.replace('http', 'ws') + '/chat/devtools', username: 'ann' });
  await new Promise((ok) => { const off = chat.subscribe(() => { if (chat.getState().isConnected) { off(); ok(); } }); });
  chat.send('hello devtools');
  return true;
})()`

// TestClientReduxDevTools: with the extension's API on the page, client.js
// connects to it once, gives it the initial state, and sends each
// snapshot, patch and ack as a named action with the synced state.
func TestClientReduxDevTools(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	s := chattest.Start(t, server.Config{})
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tctx, tcancel := context.WithTimeout(ctx, browserAction)
	defer tcancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(s.HTTPURL("/healthz"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](devToolsPage, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	type sent struct {
		Action struct {
			Type     string
			Seq      uint64
			ClientID string
		}
		State struct {
			Messages []struct{ Message string }
		}
	}
	var dt struct {
		Connects []struct{ Name string }
		Inits    []map[string]any
		Sent     []sent
	}
	for deadline := time.Now().Add(browserWait); ; time.Sleep(50 * time.Millisecond) {
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](`JSON.stringify(window.dt)`))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(v), &dt); err != nil {
			t.Fatal(err)
		}
		n := len(dt.Sent)
		if n > 0 && dt.Sent[n-1].Action.Type == "statecast/ack" || time.Now().After(deadline) {
			break
		}
	}
	if len(dt.Connects) != 1 || !strings.Contains(dt.Connects[0].Name, "/chat/devtools") || len(dt.Inits) != 1 {
		t.Fatalf("connects %+v, inits %d: want one of each, named after the room", dt.Connects, len(dt.Inits))
	}
	var types []string
	for _, s := range dt.Sent {
		types = append(types, s.Action.Type)
	}
	if len(types) < 3 || types[0] != "statecast/snapshot" || types[len(types)-1] != "statecast/ack" || !contains(types, "statecast/patch") {
		t.Fatalf("sent %q: want a snapshot, the message's patch, then its ack", types)
	}
	last := dt.Sent[len(dt.Sent)-1]
	if m := last.State.Messages; len(m) != 1 || m[0].Message != "hello devtools" || last.Action.ClientID == "" {
		t.Fatalf("the ack's state %+v (%+v): want the synced state with the message", last.State, last.Action)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
