package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// newRoom returns an in-memory store whose room "r" has the given users
// connected, user i with session "s<i>" and id "u<i>".
func newRoom(t *testing.T, names ...string) *store.Store[chat.State] {
	t.Helper()
	s := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	t.Cleanup(func() { s.Close() })
	for i, name := range names {
		id := string(rune('0' + i))
		for _, a := range []*actions.Action{
			{Type: actions.TypeOpenSession, Room: "r", Session: "s" + id},
			{Type: actions.TypeConnect, Room: "r", Session: "s" + id, User: "u" + id, Payload: actions.Connect{Username: name}},
		} {
			if err := s.Dispatch(context.Background(), a); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// sixes makes every die show its highest face.
func sixes(n int) int { return n - 1 }

func TestParseDice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n, m int
		ok   bool
	}{
		{"2d6", 2, 6, true},
		{"d20", 1, 20, true},
		{"3D4", 3, 4, true},
		{"0d6", 0, 6, true}, // parsed; refused by the bounds
		{"2d", 0, 0, false},
		{"d", 0, 0, false},
		{"26", 0, 0, false},
		{"+2d6", 0, 0, false},
		{"2d-6", 0, 0, false},
		{"2d6x", 0, 0, false},
		{"2 d6", 0, 0, false},
		{"1234567d6", 0, 0, false},
	} {
		n, m, ok := parseDice(tc.in)
		if ok != tc.ok || ok && (n != tc.n || m != tc.m) {
			t.Errorf("parseDice(%q) = %d, %d, %v; want %d, %d, %v", tc.in, n, m, ok, tc.n, tc.m, tc.ok)
		}
	}
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	b := &Bot{store: newRoom(t, "ann", "bob"), opts: BotOptions{Name: "dicebot", MaxDice: 20, MaxSides: 1000, Rand: sixes}}
	usage := "usage: /roll NdM, N dice (1 to 20) of M sides (2 to 1000), for example /roll 2d6"
	for _, tc := range []struct {
		name, text, want string
		answered         bool
	}{
		{"roll", "/roll 2d6", "ann rolled 2d6: 6 + 6 = 12", true},
		{"roll one die", "/roll d20", "ann rolled 1d20: 20", true},
		{"roll default", "/roll", "ann rolled 1d6: 6", true},
		{"roll spaces and case", "  /ROLL   3D4 ", "ann rolled 3d4: 4 + 4 + 4 = 12", true},
		{"too many dice", "/roll 21d6", usage, true},
		{"no dice", "/roll 0d6", usage, true},
		{"one side", "/roll 2d1", usage, true},
		{"too many sides", "/roll 1d1001", usage, true},
		{"garbage", "/roll lots", usage, true},
		{"who", "/who", "2 in r: ann, bob", true},
		{"unknown command", "/dance", "", false},
		{"plain text", "hello /roll 2d6", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := b.answer("r", "u0", tc.text)
			if ok != tc.answered || got != tc.want {
				t.Errorf("answer(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.answered)
			}
		})
	}
	if help, _ := b.answer("r", "u0", "/help"); !strings.Contains(help, "/roll NdM") || !strings.Contains(help, "/who") {
		t.Errorf("help = %q", help)
	}
	if who, _ := b.answer("empty", "u0", "/who"); who != "nobody is here" {
		t.Errorf("who in an empty room = %q", who)
	}
}

func TestWhoIsBounded(t *testing.T) {
	t.Parallel()
	names := make([]string, maxWho+3)
	for i := range names {
		names[i] = "n"
	}
	b := &Bot{store: newRoom(t, names...)}
	if got := b.who("r"); !strings.HasSuffix(got, " and 3 more") || strings.Count(got, "n,") != maxWho-1 {
		t.Errorf("who = %q", got)
	}
}

// TestBotPostsAfterTheCommand runs the bot in a store: the command is
// applied first, and the bot's answer follows as a TypePostMessage.
func TestBotPostsAfterTheCommand(t *testing.T) {
	t.Parallel()
	s := newRoom(t, "ann")
	bot := NewBot(s, BotOptions{Rand: sixes})
	defer bot.Close()
	s.Use(bot.Middleware())
	posts := make(chan store.Change[chat.State], 16)
	defer s.Subscribe(func(c store.Change[chat.State]) {
		if c.Action.Type == actions.TypePostMessage {
			posts <- c
		}
	})()

	say := func(text string) uint64 {
		a := &actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s0", User: "u0",
			Payload: actions.WriteMessage{Message: text}}
		if err := s.Dispatch(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		return a.Seq
	}
	say("hello")
	seq := say("/roll 2d6")
	select {
	case c := <-posts:
		p := c.Action.Payload.(actions.PostMessage)
		if c.Seq <= seq || c.Action.Room != "r" || c.Action.User != "dicebot" || p.Username != "dicebot" ||
			p.Message != "ann rolled 2d6: 6 + 6 = 12" {
			t.Errorf("answer %+v %+v after command seq %d", c.Action, p, seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	msgs := s.GetState().Room("r").Messages()
	if len(msgs) != 3 || msgs[0].Message != "hello" || msgs[1].Message != "/roll 2d6" || msgs[2].Username != "dicebot" {
		t.Errorf("messages = %+v, want hello, the command and the answer", msgs)
	}
	select {
	case c := <-posts:
		t.Errorf("unexpected second post %+v", c.Action)
	default:
	}
}

// blockingStore is a ChatStore whose Dispatch waits for release.
type blockingStore struct {
	release chan struct{}
	mu      sync.Mutex
	got     int
}

func (s *blockingStore) GetState() chat.State { return chat.State{} }

func (s *blockingStore) Dispatch(ctx context.Context, _ *actions.Action) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.got++
	s.mu.Unlock()
	return nil
}

// TestSendersNeverWait fills the bot's queue while the store does not take
// its replies: commands still return at once, and Close stops the bot.
func TestSendersNeverWait(t *testing.T) {
	t.Parallel()
	st := &blockingStore{release: make(chan struct{})}
	bot := NewBot(st, BotOptions{Queue: 1})
	dispatch := bot.Middleware()(func(context.Context, *actions.Action) error { return nil })
	start := time.Now()
	for i := 0; i < 10; i++ {
		err := dispatch(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r",
			Payload: actions.WriteMessage{Message: "/roll"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("10 commands took %v with the store stuck", d)
	}
	bot.Close()
	bot.Close()
	close(st.release)
	if err := dispatch(context.Background(), &actions.Action{Type: actions.TypeWriteMessage, Room: "r",
		Payload: actions.WriteMessage{Message: "/roll"}}); err != nil {
		t.Errorf("a command after Close: %v", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.got != 0 {
		t.Errorf("%d replies dispatched while the store was stuck", st.got)
	}
}

func TestBotPassesRejectionsAndOtherActions(t *testing.T) {
	t.Parallel()
	// A bot without its goroutine: the replies stay in the queue.
	bot := &Bot{store: newRoom(t), opts: BotOptions{Name: "dicebot", MaxDice: 20, MaxSides: 1000, Rand: sixes},
		replies: make(chan *actions.Action, 8), ctx: context.Background()}
	want := actions.Errorf("no", "no")
	err := bot.Middleware()(func(context.Context, *actions.Action) error { return want })(context.Background(),
		&actions.Action{Type: actions.TypeWriteMessage, Payload: actions.WriteMessage{Message: "/roll"}})
	if err != want {
		t.Errorf("err = %v, want the rejection itself", err)
	}
	if n := len(bot.replies); n != 0 {
		t.Errorf("%d replies to a rejected command", n)
	}
	for _, a := range []*actions.Action{
		{Type: actions.TypePostMessage, Payload: actions.PostMessage{Message: "/roll"}},
		{Type: actions.TypeConnect, Payload: actions.Connect{Username: "/roll"}},
	} {
		if err := bot.Middleware()(func(context.Context, *actions.Action) error { return nil })(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(bot.replies); n != 0 {
		t.Errorf("%d replies to actions that are not chat messages", n)
	}
	bot.Middleware()(func(context.Context, *actions.Action) error { return nil })(context.Background(),
		&actions.Action{Type: actions.TypeWriteMessage, Room: "r", Payload: actions.WriteMessage{Message: "/roll"}})
	if n := len(bot.replies); n != 1 {
		t.Errorf("%d replies to an applied command, want 1", n)
	}
}
