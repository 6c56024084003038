package inspect_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

var screenshot = flag.Bool("screenshot", false, "write the page, as the click-through test leaves it, to docs/inspector.png")

// selected is the seq the page shows as selected.
const selected = `Number((document.querySelector("#timeline li.selected") || {dataset: {seq: 0}}).dataset.seq)`

// TestPageClickThrough drives the page in Chromium on a live server:
// filter, select, step and scrub, jump, live tail with pause, permalink.
func TestPageClickThrough(t *testing.T) {
	tab := newTab(t)
	s := chattest.Start(t, server.Config{Inspect: server.Inspect{Enabled: true}})
	ann, _ := s.Join(t, "/chat/lobby", "u-ann", "ann")
	bob, _ := s.Join(t, "/chat/lobby", "u-bob", "bob")
	for i, text := range []string{"hi bob", "hi ann", "shall we look at the log?", "the inspector shows every action", "and the room after it"} {
		c := []*chattest.Client{ann, bob}[i%2]
		c.Say(text)
		written(ann)
	}
	run(t, tab, "open", chromedp.Navigate(s.HTTPURL("/inspect/")))
	await(t, tab, "the timeline", `document.querySelectorAll("#timeline li").length >= 10`)

	// Filter: only the messages.
	run(t, tab, "filter", chromedp.SetValue(chromedp.ID("type"), "message/write"), chromedp.Click(chromedp.ID("apply")))
	await(t, tab, "the filtered timeline", `[...document.querySelectorAll("#timeline li")].length === 5 &&
		[...document.querySelectorAll("#timeline li")].every(li => li.children[2].textContent === "message/write")`)
	await(t, tab, "the filter in the URL", `location.search.includes("type=message%2Fwrite")`)

	// Select the first message: the change and the room after it.
	run(t, tab, "select", chromedp.Click(chromedp.CSS("#timeline li:first-child")))
	await(t, tab, "the detail", `document.querySelector("#detail").innerText.includes("Room lobby after seq") &&
		document.querySelector("#detail").innerText.includes("hi bob") && !document.querySelector("#detail").innerText.includes("hi ann")`)
	first := must[int](t, tab, selected)
	await(t, tab, "the seq in the URL", `location.search.includes("seq=`+strconv.Itoa(first)+`")`)

	// Next, previous, and the slider.
	run(t, tab, "next", chromedp.Click(chromedp.ID("next")))
	await(t, tab, "the next message", `document.querySelector("#detail").innerText.includes("hi ann") && `+selected+` > `+strconv.Itoa(first))
	run(t, tab, "previous", chromedp.Click(chromedp.ID("prev")))
	await(t, tab, "back to the first", selected+` === `+strconv.Itoa(first))
	must[bool](t, tab, `(() => { const s = document.querySelector("#slider"); s.value = 4; return s.dispatchEvent(new Event("input")); })()`)
	await(t, tab, "the last message", `document.querySelector("#detail").innerText.includes("and the room after it") &&
		document.querySelector("#timeline li:last-child").classList.contains("selected")`)

	// Jump to a seq.
	run(t, tab, "jump", chromedp.SetValue(chromedp.ID("jump"), strconv.Itoa(first)), chromedp.Click(chromedp.ID("go")))
	await(t, tab, "the jump", selected+` === `+strconv.Itoa(first)+` && location.search.includes("seq=`+strconv.Itoa(first)+`")`)

	// Live tail, paused and resumed.
	ann.Say("live from the chat")
	await(t, tab, "the live action", `document.querySelector("#timeline").innerText.includes("live from the chat")`)
	run(t, tab, "pause", chromedp.Click(chromedp.ID("pause")))
	bob.Say("said while paused")
	await(t, tab, "the held action", `document.querySelector("#status").textContent.includes("1 new")`)
	if must[bool](t, tab, `document.querySelector("#timeline").innerText.includes("said while paused")`) {
		t.Fatal("a paused timeline showed a new action")
	}
	run(t, tab, "resume", chromedp.Click(chromedp.ID("pause")))
	await(t, tab, "the held action shown", `document.querySelector("#timeline").innerText.includes("said while paused")`)

	// The permalink opens the same view.
	run(t, tab, "reload", chromedp.Navigate(must[string](t, tab, `location.href`)))
	await(t, tab, "the permalink's view", selected+` === `+strconv.Itoa(first)+` && document.querySelector("#type").value === "message/write" &&
		document.querySelector("#detail").innerText.includes("hi bob")`)

	if *screenshot {
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "inspector.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
