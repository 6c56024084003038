package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
)

// Reducer folds one action into a state and returns the new state.
//
// A Reducer must be pure and deterministic: no clock, randomness, I/O,
// goroutines or global variables; everything it needs beyond the state is a
// field of the action. It must not modify prev (readers may hold it) nor the
// action. It is called from the store's apply loop only, one action at a
// time. A Reducer has no way to reject an action: rejections belong to
// middleware. If it panics, the store keeps the previous state and returns
// the panic as an error to the dispatcher.
type Reducer[S any] func(prev S, a *actions.Action) S

// Dispatch sends an action on its way to the reducer, on the caller's
// goroutine, through every middleware of the chain. It returns once the
// action has been applied or rejected. Once applied, a.Seq and a.Outcome
// are set: what the reducer granted the action (see Options.Outcome), which
// the caller reads there rather than from a later state. The state
// GetState returns then includes the action.
//
// The error is nil when the action was applied. Otherwise it is a
// rejection, usually an *actions.Error, which the sender of the action
// receives; ctx.Err() if ctx ended before the action reached the apply
// loop (once there, it is applied even if ctx ends); ErrClosed once the
// store is closed; or a failure of the log or the reducer, which leaves
// the state unchanged.
//
// ctx carries request-scoped values such as the actions.Source of a
// socket's actions; actions dispatched by server code have none.
type Dispatch func(ctx context.Context, a *actions.Action) error

// Middleware wraps the next Dispatch of the chain and returns a Dispatch
// that runs before it:
//
//	func Audit(next store.Dispatch) store.Dispatch {
//		return func(ctx context.Context, a *actions.Action) error {
//			// before: inspect, change or reject a
//			err := next(ctx, a)
//			// after: a.Seq is set if err == nil; act on the result
//			return err
//		}
//	}
//
// The function is called once, when the chain is built (Use); the Dispatch
// it returns is called for every action, from many goroutines at once, so
// it must be safe for concurrent use. Middleware added first is outermost:
// it sees each action first and its result last. (A statecast server puts
// yours after all its built-ins; see package server.)
//
// A middleware may:
//
//   - Inspect the action and pass it on unchanged: return next(ctx, a).
//   - Transform it: change its fields or replace its Payload (payloads are
//     values: a.Payload = p after changing a copy p) before calling next.
//     Everything the reducer needs that is not a pure function of the state,
//     such as the time, ids or random numbers, must enter this way, as
//     fields of the action: the log then replays it exactly.
//   - Reject it: return an error without calling next. Return an
//     *actions.Error: its Code and Message reach the sender (a socket gets
//     an `error` event), and a non-zero Close makes the transport close the
//     socket with that code after the event. Any other error reaches the
//     sender as actions.CodeInternal. Nothing of a rejected action enters
//     the log or the state.
//   - Act on the result: call next, then look at err and at a.Seq and
//     a.Outcome: act on what the reducer granted (the id a connect got,
//     whether the action changed anything), never on what was asked.
//   - Read the state with the store's GetState. Before next, it does not
//     include a; after next returned nil, it does (and maybe more).
//   - Dispatch further actions through the store's Dispatch (not through
//     next, which is for a alone). Synchronously, before next, the new action
//     is ordered before a; after next, after it; either way the sender waits
//     for both. To let the sender go on, dispatch from a goroutine after next
//     returns, with a context of your own (the sender's ends with its socket).
//     A dispatch from a middleware does not deadlock, since the apply loop
//     is not waiting for it, unless the middleware holds a lock that the new
//     action's trip through the chain needs; and the new action passes this
//     middleware too, so do not react to it in turn forever. A dispatch made
//     synchronously from a Subscriber always deadlocks (the apply loop would
//     wait for itself): never do that.
//   - Start asynchronous work (timers, calls to other services) whose
//     results enter as actions it dispatches later. Whoever starts a
//     goroutine owns it: stop it, and wait for it, when shutting down. Its
//     dispatches after the store closed return ErrClosed; expect that.
//
// A middleware must not:
//
//   - Block: the sender waits for the whole chain, and a socket's next frame
//     is not read meanwhile. Slow work goes to a goroutine.
//   - Change the state: states are immutable values shared by every reader;
//     the only way to change the state is an action.
//   - Change a after passing it to next, or keep a after returning: once
//     applied, the action belongs to the log, the state's subscribers and
//     the middleware outside this one. Copy what you need.
//   - Assume it sees only the actions it is interested in: pass on, unchanged,
//     every action it does not handle, including types added later.
type Middleware func(next Dispatch) Dispatch

// Change is what subscribers see after each applied action.
type Change[S any] struct {
	// Seq is the action's sequence number.
	Seq uint64
	// Action is the applied action. Subscribers must not modify it.
	Action *actions.Action
	// Prev and Next are the states before and after the action.
	Prev, Next S
}

// Subscriber receives every Change, in Seq order, from the apply loop.
// It must return quickly and must not call Dispatch and wait for it (the
// apply loop would wait for itself); it may hand work to other goroutines.
type Subscriber[S any] func(Change[S])

// ErrClosed is returned by Dispatch once the store is closed.
var ErrClosed = errors.New("store: closed")

// ErrUnconfirmed is returned by Dispatch when a shared log (a Follower) did
// not confirm the append of the action in time. The action may still be
// applied later; its sender can re-send it, with the same idempotency key,
// to have it applied once.
var ErrUnconfirmed = errors.New("store: the log did not confirm the action in time; it may still be applied")

// maxBatch bounds how many queued actions one log append carries.
const maxBatch = 512

// closeDrainTimeout bounds how long Close waits for actions appended to a
// shared log to come back and be applied.
const closeDrainTimeout = 10 * time.Second

// DefaultSnapshotEvery is how many actions pass between snapshots.
const DefaultSnapshotEvery = 10_000

// Options configure a store. The zero value is an in-memory store.
type Options[S any] struct {
	// Log receives every action before it is applied. Nil keeps nothing:
	// the state lives in memory only. A Follower (a log shared by several
	// nodes) makes the store apply what the log delivers, in the log's
	// order; Dispatch then returns once the action came back and was applied.
	Log Log
	// Snapshots, with Codec, stores the state every SnapshotEvery actions
	// (in the background) and on Close, and Open starts from the newest one.
	Snapshots Snapshots
	Codec     Codec[S]
	// SnapshotEvery defaults to DefaultSnapshotEvery.
	SnapshotEvery uint64
	// Logger reports background failures (snapshots). Defaults to none.
	Logger zerolog.Logger
	// Outcome, if set, tells what the reducer granted each applied action,
	// from the states before and after it; the store puts the result in
	// the action's Outcome field before its dispatcher and the middleware
	// around it see the action again. It runs in the apply loop and must
	// be as pure and quick as the reducer. Without it, an applied action's
	// Outcome is {Applied: true, User: a.User, Seq: a.Seq}.
	Outcome func(prev, next S, a *actions.Action) actions.Outcome
}

// Store holds the state and applies actions to it, one batch at a time.
// All methods are safe for concurrent use.
type Store[S any] struct {
	reduce Reducer[S]
	opts   Options[S]
	chain  atomic.Pointer[Dispatch]

	mu          sync.Mutex // guards middleware, subs, closed
	middleware  []Middleware
	subs        map[int]Subscriber[S]
	nextSub     int
	subsVersion atomic.Pointer[[]Subscriber[S]]
	closed      bool

	intake *intake       // requests for the apply loop
	done   chan struct{} // closed when the apply loop has ended

	follow *follower // set when the log is shared (a Follower)

	// The apply loop writes the fields below at every action: apart from
	// the fields every dispatcher reads above (chain, intake), so that the
	// two do not share a cache line and each write does not evict the
	// dispatchers' copy.
	_       [128]byte
	state   atomic.Pointer[S]
	seq     atomic.Uint64
	snapSeq uint64 // owned by the goroutine that applies actions
	states  []S    // owned by it too: unused slots for the next states (see publish)
	_       [128]byte

	snapshotting atomic.Bool
	snapWG       sync.WaitGroup
}

// request is one Dispatch waiting for the apply loop. Its dispatcher
// waits on result. The loop answers a local batch answerGroup requests at
// a time, by setting err in each and sending on the first one's result
// only; each dispatcher it wakes wakes those in next in turn (a binary
// tree over the group), so that the apply loop makes one goroutine
// runnable per group, not one per action, and the waking happens on the
// dispatchers' goroutines. Answers that come one at a time (a shared
// log's) are sent straight to result, with next empty.
type request struct {
	action *actions.Action
	result chan error
	link   *request    // the request pushed before this one, while in the intake
	err    error       // the answer, once the loop sent on result
	next   [2]*request // requests of the same batch to wake after this one
}

var requestPool = sync.Pool{New: func() any { return &request{result: make(chan error, 1)} }}

// New returns an in-memory store holding initial, whose apply loop runs
// until Close.
func New[S any](initial S, reduce Reducer[S]) *Store[S] {
	s, _ := Open(context.Background(), initial, reduce, Options[S]{})
	return s
}

// Open returns a store whose state is initial, then the newest snapshot,
// then every later action of the log, folded in order. Its apply loop runs
// until Close.
func Open[S any](ctx context.Context, initial S, reduce Reducer[S], opts Options[S]) (*Store[S], error) {
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = DefaultSnapshotEvery
	}
	if opts.Snapshots != nil && opts.Codec == nil {
		return nil, errors.New("store: snapshots need a codec")
	}
	s := &Store[S]{
		reduce: reduce,
		opts:   opts,
		subs:   map[int]Subscriber[S]{},
		intake: newIntake(),
		done:   make(chan struct{}),
	}
	state, seq, err := recoverState(ctx, initial, reduce, opts)
	if err != nil {
		return nil, err
	}
	s.state.Store(&state)
	s.seq.Store(seq)
	s.snapSeq = seq
	s.rebuild()
	s.publishSubs()
	if f, ok := opts.Log.(Follower); ok {
		s.startFollowing(f)
	}
	go s.loop()
	return s, nil
}

// Seq returns the seq of the last applied action, 0 before the first.
func (s *Store[S]) Seq() uint64 { return s.seq.Load() }

// Use appends middleware to the chain. The first middleware ever added is
// the outermost: it sees each action first and the result last. Actions
// dispatched while Use runs go through either the old or the new chain.
func (s *Store[S]) Use(mw ...Middleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware = append(s.middleware, mw...)
	s.rebuild()
}

// rebuild composes the chain; s.mu must be held (or the store unshared).
func (s *Store[S]) rebuild() {
	d := Dispatch(s.apply)
	for i := len(s.middleware) - 1; i >= 0; i-- {
		d = s.middleware[i](d)
	}
	s.chain.Store(&d)
}

// Dispatch runs a through the middleware chain into the reducer, and
// returns once it is applied or rejected. See the Dispatch type.
func (s *Store[S]) Dispatch(ctx context.Context, a *actions.Action) error {
	return (*s.chain.Load())(ctx, a)
}

// GetState returns the current state. It may already be older than the
// state by the time the caller looks at it; subscribers get exact versions.
func (s *Store[S]) GetState() S {
	return *s.state.Load()
}

// Subscribe registers fn for every Change applied after Subscribe returns,
// and returns a function that unregisters it.
func (s *Store[S]) Subscribe(fn Subscriber[S]) (unsubscribe func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	s.publishSubs()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
		s.publishSubs()
	}
}

func (s *Store[S]) publishSubs() {
	list := make([]Subscriber[S], 0, len(s.subs))
	for i := 0; i < s.nextSub; i++ {
		if fn, ok := s.subs[i]; ok {
			list = append(list, fn)
		}
	}
	s.subsVersion.Store(&list)
}

// Close stops accepting actions, applies every action already accepted,
// stops the apply loop, writes a last snapshot if snapshots are on, and
// closes the log. Dispatch then returns ErrClosed. Safe to call twice.
func (s *Store[S]) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.intake.close()
	<-s.done
	if s.follow != nil {
		s.follow.drain(closeDrainTimeout)
	}
	s.snapWG.Wait()
	var err error
	if s.opts.Snapshots != nil && s.Seq() > s.snapSeq {
		err = s.saveSnapshot(s.GetState(), s.Seq())
	}
	if s.opts.Log != nil {
		if cerr := s.opts.Log.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// apply is the end of the chain: it hands the action to the apply loop and
// waits for the result. Once queued, the action is applied even if ctx ends.
func (s *Store[S]) apply(ctx context.Context, a *actions.Action) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := requestPool.Get().(*request)
	req.action = a
	if !s.intake.push(req) {
		*req = request{result: req.result}
		requestPool.Put(req)
		return ErrClosed
	}
	err := <-req.result
	for _, r := range req.next {
		if r != nil {
			r.result <- r.err // r may be reused from here on: not a field of it later
		}
	}
	*req = request{result: req.result}
	requestPool.Put(req)
	return err
}

// answerGroup is how many applied requests the apply loop answers at once:
// enough to spare it most wake-ups, few enough that the first dispatchers
// of a long batch go on to their next action while the loop applies the
// rest, as the loop and the dispatchers share the cores.
const answerGroup = 16

// answer wakes the dispatchers of a group of a local batch, whose
// requests hold their answers in err: it wakes the first, which wakes the
// next two, and so on.
func answer(batch []*request) {
	for i, r := range batch {
		for j := range r.next {
			if c := 2*i + 1 + j; c < len(batch) {
				r.next[j] = batch[c]
			}
		}
	}
	batch[0].result <- batch[0].err
}

// loop is the single apply loop: the only goroutine that changes the state.
// It takes every request already waiting as one batch, so that one log
// append (one fsync) covers them all: group commit.
//
// On a Pipeliner log the commit is pipelined instead (see runPipeline).
func (s *Store[S]) loop() {
	defer close(s.done)
	if p, ok := s.opts.Log.(Pipeliner); ok && s.follow == nil {
		s.runPipeline(p)
		return
	}
	arrived := make([]*request, 0, maxBatch)
	acts := make([]*actions.Action, 0, maxBatch)
	for {
		var closed bool
		arrived, closed = s.intake.take(arrived[:0])
		if len(arrived) == 0 {
			if closed {
				return
			}
			<-s.intake.wake
			continue
		}
		for rest := arrived; len(rest) > 0; {
			batch := rest[:min(len(rest), maxBatch)]
			rest = rest[len(batch):]
			if s.follow != nil {
				s.commitShared(batch)
				continue
			}
			acts = acts[:0]
			for _, r := range batch {
				acts = append(acts, r.action)
			}
			s.commit(batch, acts)
		}
		clear(arrived)
	}
}

// commit appends a batch to the log, applies it, notifies the subscribers,
// and answers each dispatcher.
func (s *Store[S]) commit(batch []*request, acts []*actions.Action) {
	if err := s.appendToLog(acts); err != nil {
		for _, r := range batch {
			r.err = err
		}
		answer(batch)
		return
	}
	s.applyBatch(batch)
}

// applyBatch applies the logged batch, answering its dispatchers a group
// at a time, and takes a snapshot when one is due.
func (s *Store[S]) applyBatch(batch []*request) {
	from := 0
	for i, r := range batch {
		r.err = s.step(r.action)
		if i+1-from == answerGroup || i == len(batch)-1 {
			answer(batch[from : i+1])
			from = i + 1
		}
	}
	s.maybeSnapshot()
}

func (s *Store[S]) appendToLog(acts []*actions.Action) error {
	if s.opts.Log == nil {
		for i, a := range acts {
			a.Seq = s.Seq() + uint64(i) + 1
		}
		return nil
	}
	if err := s.opts.Log.Append(context.Background(), acts); err != nil {
		return fmt.Errorf("store: appending to the log: %w", err)
	}
	return nil
}

// step applies one logged action, records its outcome in it, and notifies
// the subscribers. An action whose reducer panics keeps its seq but
// changes nothing, here and in every replay alike.
func (s *Store[S]) step(a *actions.Action) error {
	prev := *s.state.Load()
	next, err := reduceSafely(s.reduce, prev, a)
	s.seq.Store(a.Seq)
	if err != nil {
		return err
	}
	if s.opts.Outcome != nil {
		a.Outcome = s.opts.Outcome(prev, next, a)
	} else {
		a.Outcome = actions.Outcome{Applied: true, User: a.User, Seq: a.Seq}
	}
	s.publish(next)
	change := Change[S]{Seq: a.Seq, Action: a, Prev: prev, Next: next}
	for _, fn := range *s.subsVersion.Load() {
		fn(change)
	}
	return nil
}

// statesPerAllocation is how many states publish allocates at once.
const statesPerAllocation = 64

// publish makes next the state GetState returns. The states live in
// arrays of statesPerAllocation, each slot written once before it is
// published and never again, so that applying an action does not allocate
// a state of its own: an array stays in memory until its last state is
// replaced, which lets old states outlive their time by that many actions.
func (s *Store[S]) publish(next S) {
	if len(s.states) == 0 {
		s.states = make([]S, statesPerAllocation)
	}
	p := &s.states[0]
	s.states = s.states[1:]
	*p = next
	s.state.Store(p)
}

func reduceSafely[S any](reduce Reducer[S], prev S, a *actions.Action) (next S, err error) {
	defer func() {
		if r := recover(); r != nil {
			next, err = prev, fmt.Errorf("store: reducer panicked on %s: %v", a.Type, r)
		}
	}()
	return reduce(prev, a), nil
}
