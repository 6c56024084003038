// Package browsertest starts headless Chromium for the tests that drive
// statecast's pages (the chat page, the inspector) in a real browser.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Start starts headless Chromium with the options every test needs and
// extra ones of the caller (a window size, a certificate to trust), and
// returns the context of its first tab. The browser, and every process it
// started, stops when the test ends. Without Chromium on PATH the test is
// skipped, or fails when CI=true: CI must run the browser tests.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := need(t)
	dataDir := t.TempDir() // registered first, so it is removed after the browser stopped
	ctx, stop, err := start(path, dataDir, extra)
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(func() {
		// Tabs are closed by their own cleanups, which run before this one.
		if msg := stop(); msg != "" {
			t.Error(msg)
		}
	})
	return ctx
}

// shared is the browser that Shared starts once per test binary.
var shared struct {
	mu   sync.Mutex
	ctx  context.Context
	stop func() string
	dir  string
}

// Shared returns the context of one browser that the tests of a binary
// share, started with extra by the first call: each test opens its pages
// in browser contexts of their own (chromedp.WithNewBrowserContext), which
// keeps their cookies apart, without paying for a browser each. The
// binary's TestMain must call StopShared after the tests ran.
func Shared(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := need(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx == nil {
		dir, err := os.MkdirTemp("", "browsertest-")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop, err := start(path, dir, extra)
		if err != nil {
			os.RemoveAll(dir)
			t.Fatalf("starting %s: %v", path, err)
		}
		shared.ctx, shared.stop, shared.dir = ctx, stop, dir
	}
	return shared.ctx
}

// StopShared stops the browser Shared started, if any, and reports on
// standard error a browser process it had to kill.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx == nil {
		return
	}
	if msg := shared.stop(); msg != "" {
		fmt.Fprintln(os.Stderr, "browsertest:", msg)
	}
	os.RemoveAll(shared.dir)
	shared.ctx, shared.stop = nil, nil
}

// need returns the path of Chromium, or skips t (fails it when CI=true).
func need(t testing.TB) string {
	t.Helper()
	path := find()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found on PATH (CI=true, so the browser tests must run)")
		}
		t.Skip("chromium not found on PATH; install it to run the browser tests")
	}
	return path
}

// start starts the browser with its user data in dataDir; stop closes it
// gracefully, frees the allocator (which waits for the browser process)
// and returns what went wrong, if anything.
func start(path, dataDir string, extra []chromedp.ExecAllocatorOption) (ctx context.Context, stop func() string, err error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, in a container
		chromedp.DisableGPU,
		chromedp.UserDataDir(dataDir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop = func() string {
		var msg string
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			msg = fmt.Sprintf("closing the browser: %v; ", err)
		}
		cancel()
		cancelBrowser()
		cancelAlloc()
		if n := awaitNoProcessUsing(dataDir); n > 0 {
			msg += fmt.Sprintf("%d browser processes still ran after the browser closed; killed them", n)
		}
		return msg
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// find returns the path of a Chromium binary, or "".
func find() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// awaitNoProcessUsing waits until no process runs with dir as its user data
// directory: Chromium's helpers (zygote, renderers) can exit shortly after
// the browser itself. Any still there after a few seconds are killed, and
// counted.
func awaitNoProcessUsing(dir string) (killed int) {
	if runtime.GOOS != "linux" {
		return 0
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
			return 0
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				p.Kill()
			}
			return len(left)
		}
	}
}
