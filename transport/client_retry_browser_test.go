package transport_test

// The chat page (client.js in headless Chromium) through transient
// trouble, and through refusals that must stop it: it reconnects by itself,
// or stops, and shows why on its connection line (#connection).

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
)

// jsRecordConnection keeps, in window.connectionLines, every text the
// page's connection line shows, in order.
const jsRecordConnection = `(() => {
  const line = document.querySelector('#connection');
  window.connectionLines = [];
  new MutationObserver(() => {
    const text = line.textContent;
    if (text && connectionLines.at(-1) !== text) connectionLines.push(text);
  }).observe(line, { childList: true, characterData: true, subtree: true });
})()`

const (
	jsConnection      = `document.querySelector('#connection')`
	jsConnectionLines = `window.connectionLines`
)

// joinRecording opens the chat page, records its connection line, and
// joins as name, after setup (JavaScript) if not empty; it does not wait
// for the page to connect.
func joinRecording(b *headlessBrowser, name, url, setup string) *chatPage {
	b.t.Helper()
	p := b.open(name, url)
	p.do(chromedp.WaitVisible(chromedp.ID("name")), chromedp.Evaluate[chromedp.Void](jsRecordConnection+";"+setup))
	p.do(chromedp.SendKeys(chromedp.ID("name"), name), chromedp.Click(chromedp.ID("join")))
	return p
}

// wantLines checks that the page's connection line showed a text with each
// of the parts, in order.
func wantLines(t *testing.T, p *chatPage, parts ...string) {
	t.Helper()
	lines := eval[[]string](p, jsConnectionLines)
	i := 0
	for _, line := range lines {
		if i < len(parts) && strings.Contains(line, parts[i]) {
			i++
		}
	}
	if i < len(parts) {
		t.Errorf("%s: the connection line showed %q, want texts with %q in order", p.name, lines, parts)
	}
}

func TestClientRetryBrowserRestart(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 10 * time.Second})
	b := newBrowser(t)
	url := s.HTTPURL("/?room=retry_restart")
	ann := joinRecording(b, "ann", url, "")
	ann.waitConnected()
	ann.say("before the restart")
	ann.waitMessages("ann: before the restart")
	id := ann.id()

	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	ann.waitEqual("status", jsStatus, "reconnecting")
	ann.waitEqual("the connection line", jsConnection+`.dataset.state`, "reconnecting")
	s = chattest.Start(t, s.Config) // the same address and data
	ann.waitConnected()
	ann.waitEqual("the connection line hidden", jsConnection+`.hidden`, true)
	// "Reconnecting in 1 s: server shutting down (close 1001).", or
	// without "in 1 s" when the first retry (a random wait under 300 ms)
	// came before the line could count down.
	wantLines(t, ann, "server shutting down (close 1001)")
	if ann.id() != id {
		t.Errorf("id %q after the restart, want %q", ann.id(), id)
	}
	ann.say("after the restart")
	ann.waitMessages("ann: before the restart", "ann: after the restart")
}

func TestClientRetryBrowserRefusals(t *testing.T) {
	t.Parallel()
	const hint = 200 * time.Millisecond
	connects := &refuser{typ: actions.TypeConnect, hint: hint,
		codes: []string{actions.CodeRateLimited, actions.CodeUnconfirmed, actions.CodeInternal, actions.CodeUnavailable}}
	writes := &refuser{typ: actions.TypeWriteMessage, hint: hint,
		codes: []string{actions.CodeRateLimited, actions.CodeUnconfirmed, actions.CodeUnavailable}}
	s := chattest.Start(t, server.Config{}, connects.middleware, writes.middleware)
	b := newBrowser(t)
	ann := joinRecording(b, "ann", s.HTTPURL("/?room=retry_refusals"), "")
	ann.waitConnected()
	connects.wantRetried(t, 5, hint)
	wantLines(t, ann, "(rate_limited)", "(unconfirmed)", "(internal)", "(unavailable)")

	ann.say("refused thrice")
	ann.waitMessages("ann: refused thrice")
	ann.waitEqual("the pending messages", `window.statecastClient.pending.length`, 0)
	writes.wantRetried(t, 4, hint)
	if ev := eval[map[string]int](ann, jsEvents); ev["error"] != 7 || ev["ack"] != 1 {
		t.Errorf("events %v: want 7 errors, 1 ack", ev)
	}
	if eval[bool](ann, `!document.querySelector('#error').hidden`) {
		t.Errorf("the page shows an error for refusals it retried: %s", ann.describe())
	}
}

func TestClientRetryBrowserStopsOnTokenInvalid(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Auth: middleware.AuthOptions{Secret: []byte("a secret of 32 bytes or more, for the retry tests")}})
	b := newBrowser(t)
	p := joinRecording(b, "mallory", s.HTTPURL("/?room=retry_token"),
		`localStorage.setItem('statecast.id', 'mallory'); localStorage.setItem('statecast.token', 'not-a-jwt')`)
	wantStopped(t, p, "(token_invalid)")
}

func TestClientRetryBrowserStopsOnClose1008(t *testing.T) {
	t.Parallel()
	kick := &refuser{typ: actions.TypeConnect, codes: []string{actions.CodeRateLimited}, close: actions.ClosePolicy}
	s := chattest.Start(t, server.Config{}, kick.middleware)
	b := newBrowser(t)
	p := joinRecording(b, "ann", s.HTTPURL("/?room=retry_1008"), "")
	wantStopped(t, p, "refused by the test (close 1008)")
	kick.wantRetried(t, 1, 0)
}

// wantStopped waits until the page shows that its client stopped, with
// reason on the connection line, and checks that it stays so.
func wantStopped(t *testing.T, p *chatPage, reason string) {
	t.Helper()
	p.waitEqual("status", jsStatus, "stopped")
	p.waitEqual("the connection line", jsConnection+`.dataset.state`, "stopped")
	line := eval[string](p, jsConnection+`.textContent`)
	if !strings.HasPrefix(line, "Disconnected: ") || !strings.Contains(line, reason) {
		t.Errorf("the connection line says %q, want it to tell %q", line, reason)
	}
	events := eval[map[string]int](p, jsEvents)
	time.Sleep(time.Second) // more than three of the page's first backoffs
	if after := eval[map[string]int](p, jsEvents); after["error"] != events["error"] || eval[string](p, jsStatus) != "stopped" {
		t.Errorf("the page tried again: events %v, then %v; %s", events, after, p.describe())
	}
	if eval[bool](p, `document.querySelector('#chat').hidden || !document.querySelector('#send').disabled`) {
		t.Errorf("want the chat shown, sending disabled: %s", p.describe())
	}
}
