package inspect_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserWait is the longest the page may take to show something.
const browserWait = 10 * time.Second

// newTab starts headless Chromium, opens one tab and stops both, and every
// process they started, when the test ends. Without Chromium it skips the
// test, or fails it when CI=true.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found on PATH (CI=true, so the browser tests must run)")
		}
		t.Skip("chromium not found on PATH; install it to run the browser tests")
	}
	dataDir := t.TempDir() // registered first, so it is removed after the browser stopped
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 720), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		cancel()
		cancelBrowser()
		cancelAlloc()
		awaitNoProcessUsing(t, dataDir)
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// awaitNoProcessUsing waits until no process runs with dir as its user data
// directory; any still there after a few seconds are killed and reported.
func awaitNoProcessUsing(t *testing.T, dir string) {
	if runtime.GOOS != "linux" {
		return
	}
	want := "--user-data-dir=" + dir + "\x00"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var left []*os.Process
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(b), want) {
				if p, err := os.FindProcess(pid); err == nil {
					left = append(left, p)
				}
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				p.Kill()
			}
			t.Errorf("%d browser processes still ran after the browser closed; killed them", len(left))
			return
		}
	}
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
