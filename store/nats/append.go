package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/statecast/statecast/actions"
)

// publishWindow is how many publishes of one Append may await their acks
// at once; a larger batch goes out in a pipeline of that depth.
const publishWindow = 1024

// noRetry turns off the client library's own retries of a publish that
// found no responder: they run on timers of their own, one per message,
// and could put the actions of a batch out of order. Append retries.
var noRetry = jetstream.WithRetryAttempts(0)

// Retry backoff of Append: the pause before the first retry, doubling up
// to the maximum.
const (
	retryPauseMin = 50 * time.Millisecond
	retryPauseMax = time.Second
)

// Append publishes each action of batch as one message, with the action's
// ID as its Nats-Msg-Id, all at once, and waits until the stream has
// acknowledged every one; then it sets each action's Seq to the stream seq
// of its message and returns nil. Each action must have a non-empty ID,
// unique in the stream (at least within its duplicate window). An
// acknowledgement means the message is stored on a majority of the stream's
// replicas, as durable as their sync setting makes it (see the package
// documentation).
//
// A publish that fails or is not acknowledged in time (a lost connection, a
// stream leader election) is published again, with the same ID, until
// Options.RetryTimeout has passed: the stream drops a second copy of an
// action it already holds and acknowledges it with the original seq, so an
// action is never appended twice.
//
// On error no action's Seq is set, but, unlike the plain store.Log
// contract, some actions of the batch may have been appended, or may still
// be appended by a publish in flight: the error means "not known to be
// appended", not "not appended". A Follower's store applies what Follow
// delivers, so such an action is applied exactly once on every node either
// way; a caller that tries the same batch again (within the duplicate
// window) appends each action at most once. The Log keeps working after
// an error.
//
// The first round of publishes is pipelined; retries go one at a time,
// each after the one before is acknowledged. So the seqs of a batch
// increase in batch order except in one case: an action whose publish
// failed (no responder, or no ack in time) while a later action of the same
// round got through, as can happen at the moment a stream leader changes,
// is appended, when retried, after that later one. Append then still
// returns nil, with each action's true seq, and logs a warning.
//
// An action that cannot be encoded (a payload type not registered) fails
// the batch before anything is published.
func (l *Log) Append(ctx context.Context, batch []*actions.Action) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if len(batch) == 0 {
		return nil
	}
	msgs := make([]*natsgo.Msg, len(batch))
	size := 0
	for _, a := range batch {
		size += 64 + len(a.ID) + len(a.Type) + len(a.Room) + len(a.Session) + len(a.User)
	}
	buf := make([]byte, 0, size) // one buffer for the batch's bodies, never reused
	for i, a := range batch {
		if a.ID == "" {
			return fmt.Errorf("nats: action %d of the batch (%s) has no ID; every action appended to a shared log needs a unique ID", i, a.Type)
		}
		c := *a
		c.Seq = 0 // the stream seq is the record's seq
		start := len(buf)
		var err error
		if buf, err = actions.AppendBinary(buf, &c); err != nil {
			return fmt.Errorf("nats: encoding action %d of the batch: %w", i, err)
		}
		msgs[i] = &natsgo.Msg{
			Subject: l.opts.Subject,
			Data:    buf[start:len(buf):len(buf)],
			Header:  natsgo.Header{jetstream.MsgIDHeader: []string{a.ID}},
		}
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	seqs, err := l.publish(ctx, msgs)
	if err != nil {
		return fmt.Errorf("nats: appending to stream %s: %w", l.opts.Stream, err)
	}
	for i, a := range batch {
		a.Seq = seqs[i]
		if i > 0 && seqs[i] <= seqs[i-1] {
			l.log.Warn().Uint64("seq", seqs[i]).Uint64("previous", seqs[i-1]).Str("id", a.ID).
				Msg("nats: a retried action of the batch was appended after a later one")
		}
	}
	for _, s := range seqs {
		l.raiseLast(s)
	}
	return nil
}

// publish publishes msgs and returns the seq of each, retrying those not
// acknowledged until RetryTimeout.
func (l *Log) publish(ctx context.Context, msgs []*natsgo.Msg) ([]uint64, error) {
	deadline := time.Now().Add(l.opts.RetryTimeout)
	seqs := make([]uint64, len(msgs))
	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	pause := retryPauseMin
	for attempt := 1; ; attempt++ {
		// The first round is pipelined; the retries go one at a time, each
		// after the one before is acknowledged, so that they cannot
		// overtake each other.
		window := publishWindow
		if attempt > 1 {
			window = 1
		}
		failed, lastErr, err := l.publishRound(ctx, msgs, todo, seqs, window)
		if err != nil {
			return nil, err
		}
		if len(failed) == 0 {
			return seqs, nil
		}
		if time.Now().Add(pause).After(deadline) {
			return nil, fmt.Errorf("%d of %d actions not acknowledged after %d attempts in %v: %w",
				len(failed), len(msgs), attempt, l.opts.RetryTimeout, lastErr)
		}
		l.log.Warn().Err(lastErr).Int("unacknowledged", len(failed)).Int("batch", len(msgs)).Int("attempt", attempt).
			Msg("nats: publishing again the actions not acknowledged")
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.ctx.Done():
			return nil, ErrClosed
		}
		pause = min(2*pause, retryPauseMax)
		todo = failed
	}
}

// publishRound publishes msgs[i] for every i of todo, in order, with at
// most window acks awaited at once, and waits for every ack. It sets
// seqs[i] for each acknowledged one and returns the others, with the last
// error seen for them; err is a reason to stop retrying (ctx ended, the Log
// closed, a permanent error).
func (l *Log) publishRound(ctx context.Context, msgs []*natsgo.Msg, todo []int, seqs []uint64, window int) (failed []int, lastErr, err error) {
	type pending struct {
		i int
		f jetstream.PubAckFuture
	}
	queue := make([]pending, 0, min(len(todo), window))
	// await waits for the oldest pending publish.
	await := func() error {
		p := queue[0]
		queue = queue[1:]
		var perr error
		select {
		case ack := <-p.f.Ok():
			if ack.Sequence == 0 {
				perr = fmt.Errorf("acknowledgement without a seq for action %q", msgs[p.i].Header.Get(jetstream.MsgIDHeader))
			} else {
				seqs[p.i] = ack.Sequence
				return nil
			}
		case perr = <-p.f.Err():
		case <-ctx.Done():
			return ctx.Err()
		case <-l.ctx.Done():
			return ErrClosed
		}
		if permanent(perr) {
			return perr
		}
		failed, lastErr = append(failed, p.i), perr
		return nil
	}
	for _, i := range todo {
		if len(queue) == window {
			if err := await(); err != nil {
				return nil, nil, err
			}
		}
		f, perr := l.js.PublishMsgAsync(msgs[i], noRetry)
		if perr != nil {
			if l.closed.Load() {
				return nil, nil, ErrClosed
			}
			if permanent(perr) {
				return nil, nil, perr
			}
			failed, lastErr = append(failed, i), perr
			continue
		}
		queue = append(queue, pending{i, f})
	}
	for len(queue) > 0 {
		if err := await(); err != nil {
			return nil, nil, err
		}
	}
	return failed, lastErr, nil
}

// permanent reports whether publishing again cannot help after err.
func permanent(err error) bool {
	switch {
	case errors.Is(err, natsgo.ErrConnectionClosed), errors.Is(err, natsgo.ErrMaxPayload),
		errors.Is(err, natsgo.ErrBadSubject), errors.Is(err, natsgo.ErrBadHeaderMsg):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 400: the request itself is wrong (a message above the stream's
		// size limit, for one). 409 "duplicate message id is in process"
		// and the 5xx (no leader, insufficient resources) may pass.
		return apiErr.Code == 400
	}
	return false
}
