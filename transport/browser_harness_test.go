package transport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/browsertest"
)

// These tests drive the embedded chat page (transport/web) in headless
// Chromium against a real server. Each page is a separate browser context,
// so it has its own cookies and therefore its own user id.

const (
	browserWait   = 10 * time.Second // the longest a page may take to show something
	browserAction = 15 * time.Second // the longest one batch of actions may take
)

// headlessBrowser is one Chromium process for one test.
type headlessBrowser struct {
	t   *testing.T
	ctx context.Context // the browser's first tab; pages are created from it
}

// newBrowser returns the package's shared Chromium (TestMain stops it), in
// which each page opens a browser context of its own. Without Chromium it
// skips the test, or fails it when CI=true.
func newBrowser(t *testing.T) *headlessBrowser {
	t.Helper()
	return &headlessBrowser{t: t, ctx: browsertest.Shared(t, chromedp.WindowSize(1000, 640))}
}

// chatPage is one tab showing the chat page, in its own browser context.
type chatPage struct {
	t    *testing.T
	name string
	ctx  context.Context
}

// open loads url in a new tab of a new browser context, closed when the test
// ends.
func (b *headlessBrowser) open(name, url string) *chatPage {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // creates the tab, bound to ctx
		b.t.Fatalf("%s: opening a tab: %v", name, err)
	}
	p := &chatPage{t: b.t, name: name, ctx: ctx}
	p.do(chromedp.Navigate(url))
	return p
}

// join opens the page, enters name in the join form and waits until the
// page is connected.
func (b *headlessBrowser) join(name, url string) *chatPage {
	b.t.Helper()
	p := b.open(name, url)
	p.do(
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.ID("join")),
	)
	p.waitConnected()
	return p
}

// do runs actions on the page within browserAction.
func (p *chatPage) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserAction)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage: %s", p.name, err, p.describe())
	}
}

// eval returns the value of a JavaScript expression on the page.
func eval[T any](p *chatPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserAction)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
	return v
}

// waitFor waits until the JavaScript predicate is true on the page.
func (p *chatPage) waitFor(what, predicate string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserAction)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v\npage: %s", p.name, what, err, p.describe())
	}
}

// waitEqual waits until the JavaScript expression equals want (compared as
// JSON), and fails with the last value otherwise.
func (p *chatPage) waitEqual(what, expr string, want any) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%s = %s", what, jsValue(want)),
		fmt.Sprintf("JSON.stringify(%s) === JSON.stringify(%s)", expr, jsValue(want)))
}

// jsValue is v as a JavaScript literal (JSON, with < > & left readable).
func jsValue(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// describe is the visible state of the page, for failure messages.
func (p *chatPage) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		status: document.querySelector('#status')?.dataset.state,
		error: document.querySelector('#error')?.textContent,
		users: [...document.querySelectorAll('#users li')].map((li) => li.dataset.id + ' ' + li.textContent),
		messages: [...document.querySelectorAll('#messages li')].map((li) => li.textContent),
		events: window.statecastEvents,
	})`))
	if err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	return s
}

const (
	jsStatus   = `document.querySelector('#status').dataset.state`
	jsUserList = `[...document.querySelectorAll('#users li')].map((li) => li.textContent).sort()`
	jsMessages = `[...document.querySelectorAll('#messages li')].map((li) =>
		li.querySelector('.author').textContent + ': ' + li.querySelector('.text').textContent)`
	jsEvents = `window.statecastEvents`
)

func (p *chatPage) waitConnected() {
	p.t.Helper()
	p.waitEqual("status", jsStatus, "connected")
}

// waitUsers waits until the page lists exactly these user names.
func (p *chatPage) waitUsers(names ...string) {
	p.t.Helper()
	names = slices.Sorted(slices.Values(names))
	p.waitEqual("user list", jsUserList, names)
}

// waitMessages waits until the page shows exactly these "name: text" lines,
// in order.
func (p *chatPage) waitMessages(lines ...string) {
	p.t.Helper()
	p.waitEqual("messages", jsMessages, lines)
}

// say types text into the message box and sends it.
func (p *chatPage) say(text string) {
	p.t.Helper()
	p.do(
		chromedp.SendKeys(chromedp.ID("message"), text),
		chromedp.Click(chromedp.ID("send")),
	)
	p.waitEqual("an empty message box after sending", `document.querySelector('#message').value`, "")
}

// id is the user id the page keeps in its wsId cookie.
func (p *chatPage) id() string {
	p.t.Helper()
	return eval[string](p, `decodeURIComponent(document.cookie.split('; ').find((c) => c.startsWith('wsId='))?.slice(5) ?? '')`)
}

// countUser is how many entries of the page's user list have this id.
func (p *chatPage) countUser(id string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf(`[...document.querySelectorAll('#users li')].filter((li) => li.dataset.id === %s).length`, jsValue(id)))
}
