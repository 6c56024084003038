package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// ChatStore is the part of the server's store the bot uses; a
// server.Server's Store() is one.
type ChatStore interface {
	GetState() chat.State
	Dispatch(ctx context.Context, a *actions.Action) error
}

// BotOptions configure a Bot. Zero values mean the defaults.
type BotOptions struct {
	// Name is the user id and the name the bot posts with. Defaults to
	// "dicebot".
	Name string
	// MaxDice and MaxSides bound /roll NdM. Default to 20 and 1000.
	MaxDice, MaxSides int
	// Rand returns a random int in [0, n). Defaults to math/rand/v2's IntN.
	Rand func(n int) int
	// Queue is how many replies may wait to be posted; a reply that finds
	// the queue full is dropped (and logged), so that a burst of commands
	// never blocks their senders. Defaults to 64.
	Queue int
	// Logger reports dropped and failed replies. Defaults to none.
	Logger zerolog.Logger
}

// Bot answers commands typed in chat: /roll NdM, /who and /help (see
// commands.go). It is a middleware that lets every action through, and
// after a chat message was applied, posts its answer as an action of its
// own: TypePostMessage, whose text holds the result. The dice are thrown
// here, in middleware, and the result enters the log as part of that
// action, so a replay rebuilds the same chat without throwing again.
//
// The command itself stays in the chat. The answer is dispatched from the
// bot's own goroutine, after the command's dispatch returned: the sender
// never waits for it. Close stops that goroutine.
type Bot struct {
	store   ChatStore
	opts    BotOptions
	replies chan *actions.Action

	ctx    context.Context // ends with Close; the replies' dispatch context
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returned
	once   sync.Once
}

// NewBot returns a bot that posts to s, and starts its goroutine.
func NewBot(s ChatStore, opts BotOptions) *Bot {
	if opts.Name == "" {
		opts.Name = "dicebot"
	}
	if opts.MaxDice <= 0 {
		opts.MaxDice = 20
	}
	if opts.MaxSides <= 0 {
		opts.MaxSides = 1000
	}
	if opts.Rand == nil {
		opts.Rand = rand.IntN
	}
	if opts.Queue <= 0 {
		opts.Queue = 64
	}
	b := &Bot{store: s, opts: opts, replies: make(chan *actions.Action, opts.Queue), done: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	go b.post()
	return b
}

// Middleware answers the commands among the chat messages that were
// applied. It ignores every other action, including TypePostMessage, so
// that bots never answer each other.
func (b *Bot) Middleware() store.Middleware {
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			err := next(ctx, a)
			if err != nil || a.Type != actions.TypeWriteMessage {
				return err
			}
			w, _ := a.Payload.(actions.WriteMessage)
			if text, ok := b.answer(a.Room, a.User, w.Message); ok {
				b.enqueue(&actions.Action{
					Type: actions.TypePostMessage, Room: a.Room, User: b.opts.Name,
					Payload: actions.PostMessage{Username: b.opts.Name, Message: text},
				})
			}
			return nil
		}
	}
}

// enqueue hands a reply to the goroutine, or drops it if the queue is full.
func (b *Bot) enqueue(reply *actions.Action) {
	if b.ctx.Err() != nil {
		return
	}
	select {
	case b.replies <- reply:
	default:
		b.opts.Logger.Warn().Str("room", reply.Room).Msg("dicebot: too many commands; reply dropped")
	}
}

// post dispatches the replies, in order, until Close.
func (b *Bot) post() {
	defer close(b.done)
	for {
		select {
		case <-b.ctx.Done():
			return
		case reply := <-b.replies:
			err := b.store.Dispatch(b.ctx, reply)
			if err != nil && !errors.Is(err, store.ErrClosed) && !errors.Is(err, context.Canceled) {
				b.opts.Logger.Error().Err(err).Str("room", reply.Room).Msg("dicebot: reply failed")
			}
		}
	}
}

// Close stops the bot's goroutine and waits for it; replies still queued
// are dropped. Call it once the server stopped dispatching to the bot's
// middleware (after Run or Shutdown returned). Safe to call twice.
func (b *Bot) Close() {
	b.once.Do(b.cancel)
	<-b.done
}
