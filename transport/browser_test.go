package transport_test

import (
	"context"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func TestBrowserChat(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	b := newBrowser(t)
	url := "http://" + s.Addr().String() + "/?room=browser_chat"

	ann := b.join("ann", url)
	bob := b.join("bob", url)
	if ann.id() == "" || ann.id() == bob.id() {
		t.Fatalf("ids: ann %q, bob %q; want two different non-empty ids", ann.id(), bob.id())
	}
	ann.waitUsers("ann", "bob")
	bob.waitUsers("ann", "bob")
	if n := ann.countUser(bob.id()); n != 1 {
		t.Fatalf("ann lists bob's id %d times, want 1", n)
	}

	ann.say("hello bob")
	bob.waitMessages("ann: hello bob")
	bob.say("hi ann")
	ann.say("how are you?")
	want := []string{"ann: hello bob", "bob: hi ann", "ann: how are you?"}
	ann.waitMessages(want...)
	bob.waitMessages(want...)
	// The page speaks v2 (client.js): a snapshot, then patches and acks.
	for _, p := range []*chatPage{ann, bob} {
		ev := eval[map[string]int](p, jsEvents)
		if ev["snapshot"] != 1 || ev["patch"] == 0 || ev["ack"] == 0 || ev["connected"] != 0 {
			t.Errorf("%s received %v; want one snapshot, patches and acks, no v1 events", p.name, ev)
		}
	}

	if path := os.Getenv("STATECAST_SCREENSHOT"); path != "" {
		ctx, cancel := context.WithTimeout(ann.ctx, browserAction)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrowserEscapesUserText(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	b := newBrowser(t)
	url := "http://" + s.Addr().String() + "/?room=browser_escape"

	const name = `<i>ann</i>`
	const payload = `<img src=x onerror=alert(1)><b>x</b>`
	ann := b.join(name, url)
	bob := b.join("bob", url)
	for _, p := range []*chatPage{ann, bob} {
		p.do(chromedp.Evaluate[chromedp.Void](`window.alert = () => { window.alerted = true }`))
		p.waitUsers(name, "bob")
	}
	ann.say(payload)
	for _, p := range []*chatPage{ann, bob} {
		p.waitMessages(name + ": " + payload)
		if n := eval[int](p, `document.querySelectorAll('#messages img, #messages b, #messages i, #users i').length`); n != 0 {
			t.Errorf("%s: user text created %d elements; want it shown as text", p.name, n)
		}
		if eval[bool](p, `window.alerted === true`) {
			t.Errorf("%s: user text ran a script", p.name)
		}
	}
}

func TestBrowserReloadKeepsIdentity(t *testing.T) {
	t.Parallel()
	// A grace period longer than the default, so that a slow machine still
	// reloads within it; quiet below waits longer than it.
	const grace = 2 * time.Second
	s := chattest.Start(t, server.Config{Grace: grace})
	b := newBrowser(t)
	url := "http://" + s.Addr().String() + "/?room=browser_reload"

	ann := b.join("ann", url)
	bob := b.join("bob", url)
	annID := ann.id()
	// A raw socket in the same room sees every frame the room sends.
	observer, hello := s.Join(t, "/chat/browser_reload", "observer", "observer")
	if n := len(hello.List("connectedUserList")); n != 3 {
		t.Fatalf("observer: connectedUserList = %v, want ann, bob and observer", hello)
	}
	ann.waitUsers("ann", "bob", "observer")
	bob.waitUsers("ann", "bob", "observer")
	before := eval[map[string]int](bob, jsEvents)

	ann.do(chromedp.Reload())
	ann.waitConnected()
	observer.NoFrameWithin(grace + 500*time.Millisecond) // no joined at the reconnect, no disconnected after the grace period

	if got := ann.id(); got != annID {
		t.Errorf("ann's id after the reload = %q, want %q", got, annID)
	}
	if got := eval[string](ann, `document.querySelector('#users li.me')?.dataset.id`); got != annID {
		t.Errorf("ann's own entry after the reload has id %q, want %q", got, annID)
	}
	ann.waitUsers("ann", "bob", "observer")
	if after := eval[map[string]int](bob, jsEvents); !maps.Equal(before, after) {
		t.Errorf("bob's events changed during ann's reload: before %v, after %v", before, after)
	}
	if n := bob.countUser(annID); n != 1 {
		t.Errorf("bob lists ann's id %d times after the reload, want 1", n)
	}
	bob.waitUsers("ann", "bob", "observer")
}

func TestBrowserReconnectsAfterRestart(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	b := newBrowser(t)
	url := "http://" + s.Addr().String() + "/?room=browser_restart"

	ann := b.join("ann", url)
	bob := b.join("bob", url)
	ann.waitUsers("ann", "bob")
	annID, bobID := ann.id(), bob.id()

	// A graceful shutdown closes every socket with 1001: the pages retry
	// until a server listens on the address again.
	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	for _, p := range []*chatPage{ann, bob} {
		p.waitEqual("status", jsStatus, "reconnecting")
	}
	chattest.Start(t, server.Config{Transport: transport.Config{Addr: s.Addr().String()}})
	for _, p := range []*chatPage{ann, bob} {
		p.waitConnected()
		p.waitUsers("ann", "bob")
	}
	if ann.id() != annID || bob.id() != bobID {
		t.Errorf("ids changed across the restart: ann %q→%q, bob %q→%q", annID, ann.id(), bobID, bob.id())
	}
	ann.say("back again")
	bob.waitMessages("ann: back again")
}
