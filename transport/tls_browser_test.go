package transport_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newTLSBrowser starts Chromium as newBrowser does, trusting exactly the
// key of the certificate f (by the SHA-256 of its public key), as a
// browser trusts a certificate of a real CA.
func newTLSBrowser(t *testing.T, f leafFiles) *headlessBrowser {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found on PATH (CI=true, so the browser tests must run)")
		}
		t.Skip("chromium not found on PATH; install it to run the browser tests")
	}
	dataDir := t.TempDir() // registered first, so it is removed after the browser stopped
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dataDir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", f.spki()),
	)
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
	return &headlessBrowser{t: t, ctx: ctx}
}

// TestWssBrowserChat: the chat page, loaded over https:, connects over
// wss: (the server speaks nothing else) and two users chat; client.js on
// such a page turns a path into a wss: URL.
func TestWssBrowserChat(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	s, f := startTLS(t, ca, t.TempDir())
	b := newTLSBrowser(t, f)
	url := "https://" + s.Addr().String() + "/?room=wss_chat"

	ann := b.join("ann", url)
	bob := b.join("bob", url)
	ann.waitUsers("ann", "bob")
	ann.say("hello over wss")
	bob.say("hi ann")
	want := []string{"ann: hello over wss", "bob: hi ann"}
	ann.waitMessages(want...)
	bob.waitMessages(want...)
	if proto := eval[string](ann, `location.protocol`); proto != "https:" {
		t.Fatalf("the page was loaded over %s, want https:", proto)
	}

	p := b.open("client.js", "https://"+s.Addr().String()+"/")
	p.do(chromedp.Evaluate[chromedp.Void](`(async () => {
  const { createClient } = await import('/client.js');
  class Recorded extends WebSocket {
    constructor(url, protocols) { super(url, protocols); window.socketURL = url; }
  }
  window.client = createClient({ url: '/chat/wss_chat', username: 'cj', WebSocket: Recorded });
})()`))
	p.waitFor("client.js connected", `window.client && window.client.status === 'connected'`)
	if got, want := eval[string](p, `window.socketURL`), "wss://"+s.Addr().String()+"/chat/wss_chat"; got != want {
		t.Fatalf("client.js opened %q, want %q", got, want)
	}
	p.waitFor("the room's messages in client.js", `window.client.getState().messages.length === 2`)
}
