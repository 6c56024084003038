package inspect_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/browsertest"
)

// browserWait is the longest the page may take to show something.
const browserWait = 10 * time.Second

// newTab starts headless Chromium with one tab and stops it, and every
// process it started, when the test ends. Without Chromium it skips the
// test, or fails it when CI=true.
func newTab(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, chromedp.WindowSize(1280, 720))
}

// run runs actions in the tab within browserWait.
func run(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// await waits until the JavaScript expression cond is true in the page.
func await(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		if ok, err := eval[bool](t, tab, "!!("+cond+")"); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := eval[string](t, tab, `document.body.innerText.slice(0, 2000)`)
			t.Fatalf("%s: not within %v; the page shows:\n%s", what, browserWait, html)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](t *testing.T, tab context.Context, expr string) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// must is eval that fails the test on error.
func must[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := eval[T](t, tab, expr)
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}
