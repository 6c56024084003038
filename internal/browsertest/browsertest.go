// Package browsertest starts headless Chromium for the tests that drive
// statecast's pages (the chat page, the inspector) in a real browser.
package browsertest

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

// Start starts headless Chromium with the options every test needs and
// extra ones of the caller (a window size, a certificate to trust), and
// returns the context of its first tab. The browser, and every process it
// started, stops when the test ends. Without Chromium on PATH the test is
// skipped, or fails when CI=true: CI must run the browser tests.
func Start(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := find()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found on PATH (CI=true, so the browser tests must run)")
		}
		t.Skip("chromium not found on PATH; install it to run the browser tests")
	}
	dataDir := t.TempDir() // registered first, so it is removed after the browser stopped
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
	t.Cleanup(func() {
		// Tabs are closed by their own cleanups, which run before this one.
		// Close the browser gracefully, then free the allocator, which waits
		// for the browser process to exit.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		cancel()
		cancelBrowser()
		cancelAlloc()
		awaitNoProcessUsing(t, dataDir)
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
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
// the browser itself. Any still there after a few seconds are killed and
// reported.
func awaitNoProcessUsing(t testing.TB, dir string) {
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
