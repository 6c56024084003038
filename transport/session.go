package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Close codes, as docs/protocol.md lists them. (1011, server error, is never
// sent: a failed action gets an `error` event and the socket stays open.)
const (
	closeNormal    = websocket.StatusNormalClosure   // 1000
	closeGoingAway = websocket.StatusGoingAway       // 1001: server shutting down
	closeBinary    = websocket.StatusUnsupportedData // 1003: binary frame
	closePolicy    = websocket.StatusPolicyViolation // 1008: repeated abuse
	closeTooBig    = websocket.StatusMessageTooBig   // 1009: frame too big (sent by the library)
	closeTryAgain  = websocket.StatusTryAgainLater   // 1013: too slow a reader
)

// session is one socket. Its reader runs in the HTTP handler's goroutine
// and owns the read side: frames in, actions dispatched, the answers the
// reader owes its client. Its send side (out) queues and writes frames.
// A ping timer checks the peer. All of them end before serve returns.
type session struct {
	id     string
	room   string
	remote string // the client's IP address
	conn   *websocket.Conn
	hub    *Hub
	cfg    *Config // the hub's
	out    sender

	ctx    context.Context
	cancel context.CancelFunc

	// v2 is set when the client chose the statecast.v2 subprotocol.
	v2 bool
	// token is the fresh token this socket's strict claim offers to bind (it
	// is sent only if the reducer binds it: see grantedToken), and
	// resume what its `connecting` asked for; set by the reader before the
	// connect is dispatched, read by the hub when it is applied.
	token  string
	resume resumeRequest

	// waiting is set while the reader waits for one of its actions to be
	// applied, and waits counts the waits that ended: the reader reads no
	// frame meanwhile, so a pong goes unread too (see ping).
	waiting atomic.Bool
	waits   atomic.Uint64

	// opened, if set, is called once the socket's open was applied.
	// sentConnecting is set once the client sent `connecting`; until then
	// the connect timer may close the socket.
	opened         func()
	sentConnecting atomic.Bool

	// Reader state; only the reader touches it.
	user     string
	badTimes []time.Time
	readErr  error // what ended the reader

	pingMu      sync.Mutex
	pingTimer   *time.Timer
	pingStopped bool
}

func newSession(h *Hub, conn *websocket.Conn, room, remote string, v2 bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	id := uuid.NewString()
	s := &session{
		id: id, room: room, remote: remote, conn: conn, hub: h, cfg: &h.cfg, v2: v2,
		ctx:    ctx,
		cancel: cancel,
	}
	s.out = sender{conn: conn, cfg: &h.cfg, v2: v2, done: ctx.Done(), stats: &h.stats, log: s.logAt}
	return s
}

// logAt starts a log event at level l with the socket's session and room:
// nil (a no-op) below the logger's level. A socket keeps no logger of its
// own.
func (s *session) logAt(l zerolog.Level) *zerolog.Event {
	return s.hub.log.WithLevel(l).Str("session", s.id).Str("room", s.room)
}

// serve runs the session until the socket ends, then reports the close;
// it does that on a panic too, before the panic goes on.
func (s *session) serve() {
	s.cfg.Observer.SocketOpened()
	defer s.end()
	// Writes do not watch the context (see write): ending it drops the
	// socket at once, a blocked write included.
	context.AfterFunc(s.ctx, func() { s.conn.CloseNow() })
	s.pingMu.Lock()
	s.pingTimer = time.AfterFunc(s.cfg.PingInterval, s.ping)
	s.pingMu.Unlock()

	var open any // a single server's sockets have no node: nothing to log
	if s.cfg.Node != "" {
		open = actions.Open{Node: s.cfg.Node}
	}
	s.waiting.Store(true)
	var err error
	onFreshStack(func() { err = s.dispatch(actions.TypeOpenSession, open) })
	s.doneWaiting()
	if s.opened != nil {
		s.opened()
	}
	if err == nil {
		timer := s.connectTimer()
		defer timer.Stop()
		s.readLoop()
	} else {
		s.out.closeWith(closeTryAgain, "server unavailable")
	}
}

// end records the socket's close in the state, stops its writer and its
// pings, and drops the connection.
func (s *session) end() {
	// The close action must be applied even during shutdown: it is what
	// starts the user's grace period.
	if err := s.dispatch(actions.TypeCloseSession, nil); err != nil {
		s.logAt(zerolog.WarnLevel).Err(err).Msg("recording the socket's close failed")
	}
	s.out.stop()
	s.pingMu.Lock()
	s.pingTimer.Stop()
	s.pingStopped = true
	s.pingMu.Unlock()
	s.cancel()
	s.conn.CloseNow()
	s.cfg.Observer.SocketClosed(s.closedWith(s.readErr))
}

// source describes this socket to middleware; token is the one sent with
// the frame being dispatched, if any.
func (s *session) source(ctx context.Context, token string) context.Context {
	return actions.WithSource(ctx, actions.Source{Remote: s.remote, Session: s.id, Token: token})
}

func (s *session) dispatch(typ string, payload any) error {
	return s.hub.store.Dispatch(s.source(context.Background(), ""), &actions.Action{
		Type: typ, Room: s.room, Session: s.id, User: s.user, Payload: payload,
	})
}

// doneWaiting marks the end of the reader's wait for an action.
func (s *session) doneWaiting() {
	s.waits.Add(1)
	s.waiting.Store(false)
}

// readLoop reads frames until the socket fails or closes.
func (s *session) readLoop() {
	for {
		// Not s.ctx: its end closes the socket, which ends Read too, and a
		// cancelable context would cost a registration per read.
		typ, data, err := s.conn.Read(context.Background())
		if err != nil {
			s.readErr = err
			s.logReadEnd(err)
			return
		}
		if typ != websocket.MessageText {
			s.out.closeWith(closeBinary, "binary frames are not supported")
			return
		}
		var e *actions.Error
		onFreshStack(func() { e = s.handle(data) })
		if e != nil {
			s.cfg.Observer.FrameRejected(e.Code)
			s.out.send(actions.EncodeError(e))
			if e.Close != 0 {
				s.out.closeWith(websocket.StatusCode(e.Close), e.Message)
				return
			}
			// Refusals by the rate limiter escalate by its own rule.
			if e.Code != actions.CodeInternal && e.Code != actions.CodeRateLimited && s.abused() {
				s.out.closeWith(closePolicy, "too many bad frames")
				return
			}
			if e.Code == actions.CodeRateLimited && !s.backOff(e.RetryAfter) {
				return
			}
		}
	}
}

// onFreshStack runs fn in a goroutine of its own and waits for it; a
// panic in fn is raised again in the caller. Decoding and dispatching a
// frame go deep: in the reader's goroutine they would grow its stack to
// 8 KiB, which the runtime does not shrink while the reader waits in Read
// (about 2 KiB deep), so every idle socket would hold 8 KiB of stack
// instead of 4.
func onFreshStack(fn func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// maxBackOff bounds how long a rate-limited socket's reader pauses.
const maxBackOff = time.Second

// backOff pauses the reader of a socket that was refused for its rate
// until its hint has passed (at most maxBackOff): a client that keeps
// sending meanwhile fills its own TCP window, not the server's CPU, so a
// flood from one socket costs little more than the frames it was allowed.
// It reports false if the session ended meanwhile.
func (s *session) backOff(hint time.Duration) bool {
	if hint <= 0 {
		return true
	}
	t := time.NewTimer(min(hint, maxBackOff))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// handle turns one frame into an action and dispatches it.
func (s *session) handle(data []byte) *actions.Error {
	f, e := actions.DecodeFrame(data)
	if e != nil {
		return e
	}
	switch {
	case f.Event == actions.EventConnecting && s.user != "":
		return &actions.Error{Code: actions.CodeAlreadyConnected, Message: "this socket is already connected", Ref: f.Event}
	case f.Event != actions.EventConnecting && s.user == "":
		return &actions.Error{Code: actions.CodeNotConnected, Message: "send connecting first", Ref: f.Event}
	}
	var a *actions.Action
	if f.Event == actions.EventConnecting {
		s.sentConnecting.Store(true)
		a = s.connectAction(f)
	} else {
		a = &actions.Action{Type: actions.TypeWriteMessage, User: s.user,
			Payload: actions.WriteMessage{Message: f.Message, ClientID: f.ClientID}}
	}
	a.Room, a.Session = s.room, s.id
	s.waiting.Store(true)
	err := s.hub.store.Dispatch(s.source(s.ctx, f.Token), a)
	s.doneWaiting()
	if err != nil {
		e := wireError(err)
		if e.Code == actions.CodeInternal {
			s.logAt(zerolog.ErrorLevel).Err(err).Str("type", a.Type).Msg("dispatch failed")
		}
		if e.Ref == "" {
			withRef := *e
			withRef.Ref = f.Event
			e = &withRef
		}
		return e
	}
	// What the reducer granted comes back with the action: the id this
	// socket got, the seq a write stands at (the original's, for a re-sent
	// clientId).
	switch {
	case f.Event == actions.EventConnecting && a.Outcome.Applied:
		s.user = a.Outcome.User
	case s.v2 && f.ClientID != "":
		s.out.send(actions.EncodeAck(f.ClientID, a.Outcome.Seq))
	}
	return nil
}

// wireError turns a Dispatch error into the `error` event its sender gets.
func wireError(err error) *actions.Error {
	if errors.Is(err, store.ErrUnconfirmed) {
		return &actions.Error{Code: actions.CodeUnconfirmed, RetryAfter: time.Second,
			Message: "the action log did not confirm this in time; it may still be applied (re-send it with the same clientId to have it applied once)"}
	}
	if errors.Is(err, store.ErrUnavailable) {
		return &actions.Error{Code: actions.CodeUnavailable, RetryAfter: time.Second,
			Message: "the server cannot store actions now (its storage is failing); this was not applied: retry later"}
	}
	return actions.AsError(err)
}

// abused records a bad frame and reports whether the socket passed the limit.
func (s *session) abused() bool {
	now := time.Now()
	cutoff := now.Add(-s.cfg.AbuseWindow)
	kept := s.badTimes[:0]
	for _, t := range s.badTimes {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	s.badTimes = append(kept, now)
	return len(s.badTimes) > s.cfg.AbuseLimit
}

func (s *session) logReadEnd(err error) {
	status := websocket.CloseStatus(err)
	switch {
	case status == closeNormal || status == websocket.StatusGoingAway || status == websocket.StatusNoStatusRcvd:
		s.logAt(zerolog.DebugLevel).Int("status", int(status)).Msg("socket closed")
	case s.ctx.Err() != nil:
		s.logAt(zerolog.DebugLevel).Msg("socket closed by server")
	default:
		s.logAt(zerolog.DebugLevel).Err(err).Msg("socket ended")
	}
}

// ping checks that the peer is alive and schedules the next check; a peer
// that does not answer in time is dropped.
func (s *session) ping() {
	waits := s.waits.Load()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.PingTimeout)
	defer cancel()
	if err := s.conn.Ping(ctx); err != nil {
		// A pong arrives only while the reader reads. If it waited for an
		// action meanwhile (a shared log retrying through an outage takes
		// seconds), the pong may be there, unread: that says nothing about
		// the peer, which is asked again at the next interval.
		if s.ctx.Err() != nil || (!s.waiting.Load() && s.waits.Load() == waits) {
			if s.ctx.Err() == nil {
				s.logAt(zerolog.DebugLevel).Err(err).Msg("peer did not answer ping; dropping it")
			}
			s.conn.CloseNow()
			return
		}
	}
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if !s.pingStopped {
		s.pingTimer.Reset(s.cfg.PingInterval)
	}
}
