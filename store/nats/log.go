package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/statecast/statecast/store"
)

// ErrClosed is returned by the methods of a closed Log.
var ErrClosed = errors.New("nats: log closed")

// The stream metadata that names the encoding of the message bodies (see
// the package documentation). Open sets it on a stream it creates and
// refuses a stream that names another format.
const (
	// FormatKey is the stream metadata key.
	FormatKey = "statecast_format"
	// Format is its value for bodies in the form of actions.AppendBinary.
	Format = "actions-binary-1"
)

// closeWait bounds how long Close waits for running Reads and Follows to
// stop and for the connection to drain.
const closeWait = 5 * time.Second

var (
	_ store.Log      = (*Log)(nil)
	_ store.Follower = (*Log)(nil)
)

// Log is a store.Follower kept in a NATS JetStream stream: one message per
// action. Several Logs, on one node or many, may share the stream; each
// sees every record through Read and Follow. A Log owns its connection.
// Its methods are safe for concurrent use.
type Log struct {
	opts   Options
	log    zerolog.Logger
	nc     *natsgo.Conn
	js     jetstream.JetStream
	stream jetstream.Stream

	// ctx ends when Close begins; it ends Reads, Follows and Appends.
	ctx     context.Context
	stopAll context.CancelFunc
	mu      sync.Mutex // orders readers.Add after Close's Wait
	closed  atomic.Bool
	readers sync.WaitGroup // running Reads and Follows
	once    sync.Once
	connEnd chan struct{} // closed when the connection is closed

	appendMu sync.Mutex // one Append at a time

	// last is the highest seq this Log knows to be in the stream (it only
	// grows); first the oldest, as of the last stream info.
	last, first atomic.Uint64
}

// Open connects to NATS, creates the stream if it does not exist (see the
// package documentation for its settings; with Options.NoCreate it fails
// instead) or checks that the existing one can hold the log, and returns
// the Log. The connection reconnects on its
// own for as long as the Log is open.
func Open(ctx context.Context, opts Options) (*Log, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &Log{
		opts:    o,
		log:     o.Logger,
		connEnd: make(chan struct{}),
	}
	l.ctx, l.stopAll = context.WithCancel(context.Background())
	nopts := []natsgo.Option{
		natsgo.Name(o.Name),
		natsgo.Timeout(o.ConnectTimeout),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(o.ReconnectWait),
		natsgo.PingInterval(o.PingInterval),
		natsgo.MaxPingsOutstanding(2),
		natsgo.DisconnectErrHandler(l.disconnected),
		natsgo.ReconnectHandler(l.reconnected),
		natsgo.ClosedHandler(func(*natsgo.Conn) { close(l.connEnd) }),
		natsgo.ErrorHandler(l.asyncError),
	}
	nc, err := natsgo.Connect(o.URLs, append(nopts, o.NATSOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("nats: connecting to %s: %w", o.URLs, err)
	}
	l.nc = nc
	l.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(o.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(2*publishWindow),
		jetstream.WithDefaultTimeout(o.RequestTimeout))
	if err == nil {
		err = l.openStream(ctx)
	}
	if err == nil {
		err = l.probe(ctx)
	}
	if err != nil {
		l.closed.Store(true)
		l.stopAll()
		nc.Close()
		return nil, err
	}
	return l, nil
}

// openStream creates the stream or checks the existing one.
func (l *Log) openStream(ctx context.Context) error {
	o := l.opts
	cfg := jetstream.StreamConfig{
		Name:        o.Stream,
		Description: "statecast action log",
		Subjects:    []string{o.Subject},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Discard:     jetstream.DiscardNew,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  o.Duplicates,
		DenyDelete:  true,
		DenyPurge:   true,
		Metadata:    map[string]string{FormatKey: Format},
	}
	// Nodes that start together race to create the stream, and a cluster
	// that has just started may not answer yet: retry what may pass later,
	// within the open deadline.
	deadline := time.Now().Add(openRetry)
	var s jetstream.Stream
	var err error
	for {
		s, err = l.findOrCreate(ctx, cfg)
		if err == nil || !transient(err) || time.Now().After(deadline) || l.sleep(ctx, 250*time.Millisecond) != nil {
			break
		}
		l.log.Info().Err(err).Str("stream", o.Stream).Msg("nats: the stream is not ready yet; trying again")
	}
	if err != nil {
		return fmt.Errorf("nats: opening stream %s: %w", o.Stream, err)
	}
	info := s.CachedInfo()
	if err := l.check(info.Config); err != nil {
		return err
	}
	l.stream = s
	l.learn(info.State)
	return nil
}

// probeStream is a stream name no stream has: a publish that expects it is
// refused by the log's stream without being stored.
const probeStream = "statecast-probe-no-such-stream"

// probe waits until the stream answers publishes through this connection.
// Right after the stream was created (or got a new leader), the client's
// server may not yet know that the leader listens on the subject, and a
// publish finds no responder; were that the first action of a batch while
// the second got through, the retry would land after the second. The probe
// is a publish the stream refuses (it expects another stream), so nothing
// is stored.
func (l *Log) probe(ctx context.Context) error {
	ctx, cancel := l.requestContext(ctx)
	defer cancel()
	for {
		msg := &natsgo.Msg{
			Subject: l.opts.Subject,
			Header:  natsgo.Header{jetstream.ExpectedStreamHeader: []string{probeStream}},
		}
		_, err := l.nc.RequestMsgWithContext(ctx, msg)
		if err == nil {
			return nil // the stream's refusal
		}
		if !errors.Is(err, natsgo.ErrNoResponders) {
			return fmt.Errorf("nats: stream %s does not answer publishes on %s: %w", l.opts.Stream, l.opts.Subject, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nats: stream %s does not answer publishes on %s: %w", l.opts.Stream, l.opts.Subject, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// check tells whether an existing stream's configuration can hold the log.
func (l *Log) check(c jetstream.StreamConfig) error {
	o := l.opts
	if !slices.Equal(c.Subjects, []string{o.Subject}) {
		return fmt.Errorf("nats: stream %s holds subjects %q; the log needs a stream of the one subject %q", o.Stream, c.Subjects, o.Subject)
	}
	if c.Retention != jetstream.LimitsPolicy {
		return fmt.Errorf("nats: stream %s has retention %v; the log needs limits retention (the others remove consumed records)", o.Stream, c.Retention)
	}
	if f, ok := c.Metadata[FormatKey]; ok && f != Format {
		return fmt.Errorf("nats: stream %s holds format %q, not %q", o.Stream, f, Format)
	}
	if c.Duplicates <= o.RetryTimeout {
		return fmt.Errorf("nats: stream %s has a duplicate window of %v; it must be longer than RetryTimeout %v", o.Stream, c.Duplicates, o.RetryTimeout)
	}
	if c.Storage != jetstream.FileStorage {
		l.log.Warn().Str("stream", o.Stream).Msg("nats: the stream is kept in memory: a restart of the NATS servers loses the log")
	}
	if c.MaxMsgs > 0 || c.MaxBytes > 0 || c.MaxAge > 0 || c.MaxMsgsPerSubject > 0 {
		l.log.Warn().Str("stream", o.Stream).Msg("nats: the stream has limits: old records will be removed (FirstSeq grows)")
	}
	if c.Replicas != o.Replicas {
		l.log.Info().Str("stream", o.Stream).Int("replicas", c.Replicas).Int("wanted", o.Replicas).
			Msg("nats: the existing stream keeps its number of replicas")
	}
	return nil
}

// openRetry bounds how long Open keeps trying a stream that does not
// answer yet.
const openRetry = 30 * time.Second

// findOrCreate returns the stream, creating it if it does not exist and
// Options.NoCreate is not set.
func (l *Log) findOrCreate(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	rctx, cancel := l.requestContext(ctx)
	defer cancel()
	s, err := l.js.Stream(rctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) && !l.opts.NoCreate {
		s, err = l.js.CreateStream(rctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another node was faster
			s, err = l.js.Stream(rctx, cfg.Name)
		}
	}
	return s, err
}

// transient reports whether an error of a JetStream request may pass if
// the request is sent again: no answer in time, no JetStream yet.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, natsgo.ErrTimeout) ||
		errors.Is(err, natsgo.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// sleep waits for d, or until ctx ends.
func (l *Log) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// requestContext bounds a JetStream API request by RequestTimeout, unless
// ctx ends sooner.
func (l *Log) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.opts.RequestTimeout)
}

// learn records the stream state st.
func (l *Log) learn(st jetstream.StreamState) {
	l.raiseLast(st.LastSeq)
	first := st.FirstSeq
	if st.LastSeq == 0 {
		first = 0
	}
	l.first.Store(first)
}

// raiseLast raises l.last to seq if it is lower.
func (l *Log) raiseLast(seq uint64) {
	for {
		cur := l.last.Load()
		if seq <= cur || l.last.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// refresh asks the stream for its state. On failure it logs, and the cached
// values stay.
func (l *Log) refresh() {
	if l.closed.Load() {
		return
	}
	ctx, cancel := l.requestContext(context.Background())
	defer cancel()
	info, err := l.stream.Info(ctx)
	if err != nil {
		l.log.Warn().Err(err).Str("stream", l.opts.Stream).Msg("nats: stream info failed; LastSeq and FirstSeq give the last values known")
		return
	}
	l.learn(info.State)
}

// LastSeq returns the seq of the last record in the stream, appended by any
// writer, or 0 for an empty stream. It asks the stream (one request, bounded
// by RequestTimeout); if that fails, or after Close, it returns the highest
// seq this Log has seen, which includes everything its own Appends wrote.
func (l *Log) LastSeq() uint64 {
	l.refresh()
	return l.last.Load()
}

// FirstSeq returns the seq of the oldest record in the stream, or 0 for an
// empty stream. Like LastSeq it asks the stream, and falls back to the last
// value known. A stream from which every record was removed (by limits set
// on it) reports the seq after its last record.
func (l *Log) FirstSeq() uint64 {
	l.refresh()
	return l.first.Load()
}

// Conn returns the Log's connection, for other traffic on the same
// connection (heartbeats, for example). Do not close or drain it: Close
// does.
func (l *Log) Conn() *natsgo.Conn { return l.nc }

// Stream returns the name of the log's stream.
func (l *Log) Stream() string { return l.opts.Stream }

// Created returns when the stream was created. A stream deleted and made
// anew under the same name has another: snapshots of the old one's state
// must not be folded on with the new one's records.
func (l *Log) Created() time.Time { return l.stream.CachedInfo().Created }

// Subject returns the subject the log's actions are published on.
func (l *Log) Subject() string { return l.opts.Subject }

// Close ends running Reads and Follows (they return ErrClosed), waits a
// moment for them to stop, and drains and closes the connection. Every
// Append that returned nil is already as durable as the stream keeps it.
// Later calls of other methods fail with ErrClosed. Safe to call twice.
func (l *Log) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed.Store(true)
		l.stopAll()
		l.mu.Unlock()
		stopped := make(chan struct{})
		go func() { l.readers.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(closeWait):
			l.log.Warn().Msg("nats: Close: a Read or Follow did not stop in time")
		}
		if err := l.nc.Drain(); err != nil {
			l.nc.Close()
			return
		}
		select {
		case <-l.connEnd:
		case <-time.After(closeWait):
			l.nc.Close()
		}
	})
	return nil
}

// enter registers a Read or Follow, or reports false if the Log is
// closed. A true result must be matched by l.readers.Done().
func (l *Log) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.readers.Add(1)
	return true
}

// disconnected reports a lost connection.
func (l *Log) disconnected(_ *natsgo.Conn, err error) {
	if l.closed.Load() {
		return
	}
	l.log.Warn().Err(err).Str("stream", l.opts.Stream).Msg("nats: disconnected; reconnecting")
	if l.opts.OnConnection != nil {
		l.opts.OnConnection(false)
	}
}

// reconnected reports a regained connection.
func (l *Log) reconnected(nc *natsgo.Conn) {
	if l.closed.Load() {
		return
	}
	l.log.Info().Str("url", nc.ConnectedUrlRedacted()).Str("server", nc.ConnectedServerName()).Msg("nats: reconnected")
	if l.opts.OnConnection != nil {
		l.opts.OnConnection(true)
	}
}

// asyncError reports an error the client met outside any call (a slow
// consumer, a permissions violation).
func (l *Log) asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	ev := l.log.Warn().Err(err)
	if sub != nil {
		ev = ev.Str("subject", sub.Subject)
	}
	ev.Msg("nats: asynchronous error")
}
