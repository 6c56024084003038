package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/statecast/statecast/actions"
)

// Settings of the consumers that Read and Follow create.
const (
	// readBuffer is how many messages a reader asks for at once (it asks
	// for more when half are consumed).
	readBuffer = 1000
	// pullExpiry is how long one pull request waits on the server.
	pullExpiry = 10 * time.Second
	// heartbeat is how often the server signals an idle pull; two missed
	// mean the pull went nowhere (the consumer is gone with its server, or
	// the pull request beat the news of the new consumer to the client's
	// server and found no responder) and the reader starts a new consumer
	// after the last record delivered.
	heartbeat = 500 * time.Millisecond
	// inactiveThreshold is how long the server keeps a consumer nobody
	// pulls from: the leftovers of a reader that died without deleting its
	// consumer.
	inactiveThreshold = 2 * time.Minute
	// readIdle is how long Read waits for the next record before it asks
	// the stream whether any is left below its end (the records there may
	// have been removed). It must exceed two heartbeats, or a lost pull
	// would go unnoticed.
	readIdle = 2 * time.Second
	// restartPauseMin and restartPauseMax bound the pause before a reader
	// starts a new consumer after a failure.
	restartPauseMin = 100 * time.Millisecond
	restartPauseMax = 2 * time.Second
)

// Read calls fn for every record with seq >= from, in seq order, up to the
// last record in the stream when Read began (appended by any writer). It
// reads through a consumer of its own, which it deletes when done, and
// survives lost connections as Follow does. A record whose body does not
// decode is an error naming its seq. Read returns fn's first error, or
// ctx.Err() if ctx ends, or ErrClosed if the Log is closed meanwhile.
func (l *Log) Read(ctx context.Context, from uint64, fn func(a *actions.Action) error) error {
	if !l.enter() {
		return ErrClosed
	}
	defer l.readers.Done()
	ctx, cancel := l.readerContext(ctx)
	defer cancel()
	info, err := l.info(ctx)
	if err != nil {
		return l.readerErr(ctx, err)
	}
	// At least what this Log appended, should the stream's answer lag.
	until := max(info.State.LastSeq, l.last.Load())
	if from > until || until == 0 {
		return nil
	}
	return l.consume(ctx, max(from, 1), until, fn)
}

// info returns the stream's info, asking again after failures (a leader
// election, a lost connection) until RetryTimeout.
func (l *Log) info(ctx context.Context) (*jetstream.StreamInfo, error) {
	deadline := time.Now().Add(l.opts.RetryTimeout)
	pause := retryPauseMin
	for {
		rctx, cancel := l.requestContext(ctx)
		info, err := l.stream.Info(rctx)
		cancel()
		if err == nil {
			l.learn(info.State)
			return info, nil
		}
		if ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return nil, fmt.Errorf("nats: stream info of %s: %w", l.opts.Stream, err)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(2*pause, retryPauseMax)
	}
}

// readerContext returns a context that ends with ctx or when the Log is
// closed (its cause then is ErrClosed).
func (l *Log) readerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(l.ctx, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(nil) }
}

// readerErr returns the error a reader reports for err: ErrClosed if the
// Log was closed, ctx.Err() if ctx (from readerContext) ended, else err.
func (l *Log) readerErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), ErrClosed) {
			return ErrClosed
		}
		return ctx.Err()
	}
	return err
}

// Follow calls fn for every record with seq >= from, in seq order: those in
// the stream, then each new one as any writer appends it, until ctx ends
// (Follow returns ctx.Err()), fn returns an error (Follow returns it), a
// record does not decode (an error naming its seq), or the Log is closed
// (ErrClosed). When its connection is lost, or the server holding its
// consumer stops, it starts a new consumer at the record after the last one
// delivered, so that it delivers no record twice and skips none: every seq
// it delivers is greater than the one before.
func (l *Log) Follow(ctx context.Context, from uint64, fn func(a *actions.Action) error) error {
	if !l.enter() {
		return ErrClosed
	}
	defer l.readers.Done()
	ctx, cancel := l.readerContext(ctx)
	defer cancel()
	return l.consume(ctx, max(from, 1), 0, fn)
}

// retryable marks an error after which a reader starts a new consumer.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// consume delivers the records from seq next on, up to seq until (0: for
// ever), starting a new consumer after each retryable failure. ctx comes
// from readerContext.
func (l *Log) consume(ctx context.Context, next, until uint64, fn func(*actions.Action) error) error {
	pause := restartPauseMin
	for {
		before := next
		err := l.consumeOnce(ctx, &next, until, fn)
		if err == nil {
			return nil
		}
		var r retryable
		if !errors.As(err, &r) {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return l.readerErr(ctx, err)
			}
			return err // fn's, or a record that does not decode
		}
		if ctx.Err() != nil {
			return l.readerErr(ctx, err)
		}
		if next > before {
			pause = restartPauseMin // progress since the last failure
		}
		l.log.Warn().Err(r.err).Str("stream", l.opts.Stream).Uint64("next", next).
			Msg("nats: reader lost its consumer; starting a new one")
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return l.readerErr(ctx, ctx.Err())
		}
		pause = min(2*pause, restartPauseMax)
	}
}

// consumeOnce creates a consumer starting at *next and delivers its
// records, advancing *next past each. It returns nil once the record at
// until was delivered (or none is left up to it), a retryable error when
// the consumer failed, or any other error to stop.
func (l *Log) consumeOnce(ctx context.Context, next *uint64, until uint64, fn func(*actions.Action) error) error {
	name := "statecast_" + nuid.Next()
	rctx, cancel := l.requestContext(ctx)
	cons, err := l.js.CreateConsumer(rctx, l.opts.Stream, jetstream.ConsumerConfig{
		Name:              name,
		Description:       "statecast log reader",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       *next,
		AckPolicy:         jetstream.AckNonePolicy,
		ReplayPolicy:      jetstream.ReplayInstantPolicy,
		InactiveThreshold: inactiveThreshold,
		Replicas:          1,
		MemoryStorage:     true,
	})
	cancel()
	if err != nil {
		return retryable{fmt.Errorf("creating a consumer: %w", err)}
	}
	defer l.deleteConsumer(name)

	it, err := cons.Messages(
		jetstream.PullMaxMessages(readBuffer),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(heartbeat),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return retryable{fmt.Errorf("consuming: %w", err)}
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	var opts []jetstream.NextOpt
	if until > 0 {
		opts = append(opts, jetstream.NextMaxWait(readIdle))
	}
	var delivered uint64 // the consumer's delivery seq of the last message
	for {
		m, err := it.Next(opts...)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if until > 0 && errors.Is(err, natsgo.ErrTimeout) {
				left, err := l.anyLeft(ctx, *next, until)
				if err != nil {
					return retryable{err}
				}
				if !left {
					return nil
				}
				continue
			}
			return retryable{err}
		}
		meta, err := m.Metadata()
		if err != nil {
			return retryable{err}
		}
		if meta.Sequence.Consumer != delivered+1 {
			// A message was lost on the way: start again after the last
			// record delivered.
			return retryable{fmt.Errorf("consumer delivery seq %d after %d", meta.Sequence.Consumer, delivered)}
		}
		delivered = meta.Sequence.Consumer
		seq := meta.Sequence.Stream
		if seq < *next {
			continue // delivered already (cannot happen with a fresh consumer; cheap to make sure)
		}
		if until > 0 && seq > until {
			return nil
		}
		a, err := actions.DecodeBinary(m.Data())
		if err != nil {
			return fmt.Errorf("nats: stream %s, seq %d: %w", l.opts.Stream, seq, err)
		}
		a.Seq = seq
		*next = seq + 1
		if err := fn(a); err != nil {
			return err
		}
		if seq == until {
			return nil
		}
	}
}

// anyLeft reports whether the stream holds a record with a seq in
// [from, until].
func (l *Log) anyLeft(ctx context.Context, from, until uint64) (bool, error) {
	rctx, cancel := l.requestContext(ctx)
	defer cancel()
	m, err := l.stream.GetMsg(rctx, from, jetstream.WithGetMsgSubject(l.opts.Subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return m.Sequence <= until, nil
}

// deleteConsumer deletes a reader's consumer, so that it does not linger
// on the server until its inactive threshold. A failure only leaves it to
// that threshold.
func (l *Log) deleteConsumer(name string) {
	if l.nc.IsClosed() || !l.nc.IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.js.DeleteConsumer(ctx, l.opts.Stream, name)
}
