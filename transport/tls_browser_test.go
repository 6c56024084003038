package transport_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/browsertest"
)

// newTLSBrowser starts Chromium as newBrowser does, trusting exactly the
// key of the certificate f (by the SHA-256 of its public key), as a
// browser trusts a certificate of a real CA.
func newTLSBrowser(t *testing.T, f leafFiles) *headlessBrowser {
	t.Helper()
	return &headlessBrowser{t: t, ctx: browsertest.Start(t, chromedp.Flag("ignore-certificate-errors-spki-list", f.spki()))}
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
