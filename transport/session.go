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
)

// Close codes, as PROTOCOL.md lists them. (1011, server error, is never
// sent: a failed action gets an `error` event and the socket stays open.)
const (
	closeNormal    = websocket.StatusNormalClosure   // 1000
	closeGoingAway = websocket.StatusGoingAway       // 1001: server shutting down
	closeBinary    = websocket.StatusUnsupportedData // 1003: binary frame
	closePolicy    = websocket.StatusPolicyViolation // 1008: repeated abuse
	closeTooBig    = websocket.StatusMessageTooBig   // 1009: frame too big (sent by the library)
	closeTryAgain  = websocket.StatusTryAgainLater   // 1013: too slow a reader
)

// session is one socket: its reader runs in the HTTP handler's goroutine,
// its writer in a goroutine it owns; both end before serve returns.
type session struct {
	id     string
	room   string
	remote string // the client's IP address
	conn   *websocket.Conn
	hub    *Hub
	cfg    Config
	log    zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	// v2 is set when the client chose the statecast.v2 subprotocol.
	v2 bool
	// token is the token handed to this socket (strict claims only), and
	// resume what its `connecting` asked for; set by the reader before the
	// connect is dispatched, read by the hub when it is applied.
	token  string
	resume resumeRequest

	// waiting is set while the reader waits for one of its actions to be
	// applied, and waits counts the waits that ended: the reader reads no
	// frame meanwhile, so a pong goes unread too (see ping).
	waiting atomic.Bool
	waits   atomic.Uint64

	// lastWrite is when the writer last took frames to write, and
	// writeTimer drops the peer if a batch of writes takes too long; only
	// the writer touches them.
	lastWrite  time.Time
	writeTimer *time.Timer

	// Reader state; only the reader touches it.
	user     string
	badTimes []time.Time
	readErr  error // what ended the reader

	// Send queue, guarded by mu. A writer goroutine runs only while there
	// is something to write (writing); an idle socket has none. Once a
	// writer closed the socket or failed, none starts again (writerEnded).
	mu          sync.Mutex
	queue       []outFrame
	queuedBytes int
	closeCode   websocket.StatusCode // set once: the writer closes with it
	closeReason string
	writing     bool
	writerEnded bool
	writers     sync.WaitGroup
	pingTimer   *time.Timer
	pingStopped bool
}

func newSession(h *Hub, conn *websocket.Conn, room, remote string) *session {
	ctx, cancel := context.WithCancel(context.Background())
	id := uuid.NewString()
	return &session{
		id: id, room: room, remote: remote, conn: conn, hub: h, cfg: h.cfg,
		log:    h.log.With().Str("session", id).Str("room", room).Logger(),
		ctx:    ctx,
		cancel: cancel,
	}
}

// serve runs the session until the socket ends, then reports the close.
func (s *session) serve() {
	s.cfg.Observer.SocketOpened()
	// Writes do not watch the context (see write): ending it drops the
	// socket at once, a blocked write included.
	context.AfterFunc(s.ctx, func() { s.conn.CloseNow() })
	s.mu.Lock()
	s.pingTimer = time.AfterFunc(s.cfg.PingInterval, s.ping)
	s.mu.Unlock()

	var open any // a single server's sockets have no node: nothing to log
	if s.cfg.Node != "" {
		open = actions.Open{Node: s.cfg.Node}
	}
	s.waiting.Store(true)
	err := s.dispatch(actions.TypeOpenSession, open)
	s.doneWaiting()
	if err == nil {
		s.readLoop()
	} else {
		s.closeWith(closeTryAgain, "server unavailable")
	}

	// The close action must be applied even during shutdown: it is what
	// starts the user's grace period.
	if err := s.dispatch(actions.TypeCloseSession, nil); err != nil {
		s.log.Warn().Err(err).Msg("recording the socket's close failed")
	}
	s.closeWith(stopWriting, "")
	s.writers.Wait()
	s.mu.Lock()
	s.pingTimer.Stop()
	s.pingStopped = true
	s.takeQueue() // what a writer that failed left behind
	s.mu.Unlock()
	s.cancel()
	s.conn.CloseNow()
	s.cfg.Observer.SocketClosed(s.closedWith(s.readErr))
}

// stopWriting tells the writer to stop without a close frame: the reader
// has already seen the socket end.
const stopWriting websocket.StatusCode = -1

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
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.readErr = err
			s.logReadEnd(err)
			return
		}
		if typ != websocket.MessageText {
			s.closeWith(closeBinary, "binary frames are not supported")
			return
		}
		if e := s.handle(data); e != nil {
			s.cfg.Observer.FrameRejected(e.Code)
			s.send(actions.EncodeError(e))
			if e.Close != 0 {
				s.closeWith(websocket.StatusCode(e.Close), e.Message)
				return
			}
			// Refusals by the rate limiter escalate by its own rule.
			if e.Code != actions.CodeInternal && e.Code != actions.CodeRateLimited && s.abused() {
				s.closeWith(closePolicy, "too many bad frames")
				return
			}
		}
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
		e := actions.AsError(err)
		if e.Code == actions.CodeInternal {
			s.log.Error().Err(err).Str("type", a.Type).Msg("dispatch failed")
		}
		if e.Ref == "" {
			withRef := *e
			withRef.Ref = f.Event
			e = &withRef
		}
		return e
	}
	switch {
	case f.Event == actions.EventConnecting:
		s.connected()
	case s.v2 && f.ClientID != "":
		s.ack(f.ClientID)
	}
	return nil
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
		s.log.Debug().Int("status", int(status)).Msg("socket closed")
	case errors.Is(err, context.Canceled):
		s.log.Debug().Msg("socket closed by server")
	default:
		s.log.Debug().Err(err).Msg("socket ended")
	}
}

// send queues a frame for this socket. A socket whose queue is full is
// closed with 1013: a slow reader never holds up anyone else.
func (s *session) send(frame []byte) {
	s.enqueue(outFrame{data: frame}, len(frame))
}

// sendPatch queues the v2 operations of the change at seq. The writer
// merges adjacent changes into one `patch` frame.
func (s *session) sendPatch(seq uint64, ops [][]byte) {
	size := 0
	for _, op := range ops {
		size += len(op)
	}
	s.enqueue(outFrame{ops: ops, seq: seq}, size)
}

func (s *session) enqueue(f outFrame, size int) {
	s.mu.Lock()
	if s.closeCode != 0 {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.cfg.SendQueue || s.queuedBytes+size > s.cfg.SendQueueBytes {
		s.mu.Unlock()
		s.log.Warn().Int("queued", len(s.queue)).Msg("socket too slow; closing it")
		if s.closeWith(closeTryAgain, "too slow a reader") {
			s.hub.stats.drops.Add(1)
		}
		return
	}
	s.queue = append(s.queue, f)
	s.queuedBytes += size
	s.hub.stats.queued.Add(1)
	s.startWriterLocked()
	s.mu.Unlock()
}

// outFrame is one queued item: a whole frame, or one change's v2
// operations.
type outFrame struct {
	data []byte
	ops  [][]byte
	seq  uint64
}

// closeWith asks the writer to close the socket with code once the frames
// already queued are written (for 1013, at once). The first call wins,
// and only it returns true.
func (s *session) closeWith(code websocket.StatusCode, reason string) (first bool) {
	s.mu.Lock()
	if first = s.closeCode == 0; first {
		s.closeCode, s.closeReason = code, reason
		if code == closeTryAgain {
			s.takeQueue()
		}
	}
	s.startWriterLocked()
	s.mu.Unlock()
	return first
}

// startWriterLocked starts a writer goroutine unless one runs or the
// socket's writing has ended; s.mu held.
func (s *session) startWriterLocked() {
	if s.writing || s.writerEnded {
		return
	}
	s.writing = true
	s.writers.Add(1)
	go s.writeLoop()
}

// writeLoop writes queued frames in order until the queue is empty, and
// closes the socket when asked.
func (s *session) writeLoop() {
	defer s.writers.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 && s.closeCode == 0 {
			s.writing = false // idle: the next frame starts a writer again
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.awaitMergeWindow()
		s.mu.Lock()
		frames, code, reason := s.takeQueue(), s.closeCode, s.closeReason
		s.mu.Unlock()
		err := s.writeAll(frames)
		if err != nil {
			s.conn.CloseNow()
		} else if code > 0 {
			s.conn.Close(code, reason)
		}
		if err != nil || code != 0 {
			s.mu.Lock()
			s.writing, s.writerEnded = false, true
			s.mu.Unlock()
			return
		}
	}
}

// awaitMergeWindow holds a v2 socket's next write until MergeWindow has
// passed since its last one, so that the changes queued meanwhile go out
// as one patch. Only the writer calls it.
func (s *session) awaitMergeWindow() {
	if !s.v2 || s.cfg.MergeWindow <= 0 {
		return
	}
	now := time.Now()
	if wait := s.lastWrite.Add(s.cfg.MergeWindow).Sub(now); wait > 0 {
		select {
		case <-time.After(wait):
		case <-s.ctx.Done():
		}
		now = now.Add(wait)
	}
	s.lastWrite = now
}

// writeAll writes the frames in order, merging each run of adjacent v2
// changes into one `patch` whose seq is the last one's: fewer frames are
// what makes fan-out fast. A peer that takes longer than WriteTimeout to
// accept them is dropped.
func (s *session) writeAll(frames []outFrame) error {
	if s.writeTimer == nil {
		s.writeTimer = time.AfterFunc(s.cfg.WriteTimeout, func() { s.conn.CloseNow() })
	} else {
		s.writeTimer.Reset(s.cfg.WriteTimeout)
	}
	defer s.writeTimer.Stop()
	for i := 0; i < len(frames); {
		if frames[i].ops == nil {
			if err := s.write(frames[i].data); err != nil {
				return err
			}
			i++
			continue
		}
		var ops [][]byte
		var seq uint64
		for ; i < len(frames) && frames[i].ops != nil; i++ {
			ops, seq = append(ops, frames[i].ops...), frames[i].seq
		}
		if err := s.write(actions.EncodePatch(seq, ops)); err != nil {
			return err
		}
	}
	return nil
}

// write writes one frame. Its context never ends: a context that can end
// costs the library a watcher per write, so writeAll's timer and the
// session's end (see serve) bound writes instead.
func (s *session) write(frame []byte) error {
	return s.conn.Write(context.Background(), websocket.MessageText, frame)
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
				s.log.Debug().Err(err).Msg("peer did not answer ping; dropping it")
			}
			s.conn.CloseNow()
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pingStopped {
		s.pingTimer.Reset(s.cfg.PingInterval)
	}
}
