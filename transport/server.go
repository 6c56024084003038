package transport

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

//go:embed web
var webFiles embed.FS

// Server serves the chat endpoint and the chat page.
type Server struct {
	cfg   Config
	hub   *Hub
	admit *admission
	rooms *roomGate
	log   zerolog.Logger
	http  *http.Server
	ln    net.Listener
	done  chan struct{}
	certs *certLoader // with TLS
	// redirect answers plain HTTP with redirects to HTTPS
	// (Config.HTTPRedirect); redirectDone is closed once it stopped.
	redirect     *http.Server
	redirectLn   net.Listener
	redirectDone chan struct{}
	// ready is set while the server accepts sockets: from Open until
	// Shutdown begins.
	ready atomic.Bool
}

// NewServer returns a server for the store s. Call Open to start it.
func NewServer(cfg Config, s *store.Store[chat.State], log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	srv := &Server{cfg: cfg, hub: NewHub(s, cfg, log), admit: newAdmission(cfg), log: log, done: make(chan struct{})}
	srv.rooms = newRoomGate(cfg.MaxRooms, srv.hub)
	srv.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.HandshakeTimeout,
	}
	newHandshakeWatch(cfg.HandshakeTimeout, &srv.hub.bounds.handshakeTimeouts).install(srv.http)
	if cfg.TLSCert != "" {
		certs, err := newCertLoader(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return nil, err
		}
		srv.certs = certs
		srv.http.TLSConfig = certs.tlsConfig()
		srv.http.Protocols = new(http.Protocols)
		srv.http.Protocols.SetHTTP1(true) // sockets are hijacked HTTP/1.1 connections
		srv.http.ErrorLog = tlsErrorLog(log)
	}
	return srv, nil
}

// Disconnect closes every open socket with code and reason (see
// Hub.Disconnect); the server goes on accepting new ones.
func (s *Server) Disconnect(code websocket.StatusCode, reason string) { s.hub.Disconnect(code, reason) }

// Handler returns the HTTP routes: /chat, /chat/{room}, the page at /,
// /healthz (the process serves HTTP), /readyz (the state is recovered
// and sockets are accepted: 200, else 503) and, when Config.Metrics is set,
// /metrics, and Config.Routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.serveReady)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	for pattern, h := range s.cfg.Routes {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/chat", s.serveChat)
	mux.HandleFunc("/chat/", s.serveChat)
	web, _ := fs.Sub(webFiles, "web")
	mux.Handle("/", http.FileServerFS(web))
	return mux
}

// Open listens on the configured address and serves in a goroutine, so
// that Addr is known when Open returns.
// With TLS (Config.TLSCert) it serves HTTPS and wss, and answers plain
// HTTP on Config.HTTPRedirect, if set, with redirects to HTTPS.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	if s.certs != nil && s.cfg.HTTPRedirect != "" {
		if s.redirectLn, err = net.Listen("tcp", s.cfg.HTTPRedirect); err != nil {
			ln.Close()
			return err
		}
		s.redirect, s.redirectDone = newRedirectServer(ln.Addr()), make(chan struct{})
		go func() {
			defer close(s.redirectDone)
			if err := s.redirect.Serve(s.redirectLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error().Err(err).Msg("http redirect server stopped")
			}
		}()
	}
	s.ln = ln
	s.ready.Store(true)
	go func() {
		defer close(s.done)
		serve := s.http.Serve
		if s.certs != nil {
			serve = func(ln net.Listener) error { return s.http.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	return nil
}

// RedirectAddr returns the address of the plain HTTP listener that
// redirects to HTTPS (Config.HTTPRedirect), or nil without one.
func (s *Server) RedirectAddr() net.Addr {
	if s.redirectLn == nil {
		return nil
	}
	return s.redirectLn.Addr()
}

// Addr returns the address the server listens on, once Open succeeded.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting connections, closes every socket with 1001
// after the frames queued for it, and waits for every session to record its
// close. Safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	// The sockets are hijacked: http.Server.Shutdown neither closes nor
	// waits for them, but it waits up to 5s for any connection that has
	// not sent a request yet (a browser's preconnect). That must not hold
	// up the sockets' 1001, so both run at once.
	httpErr := make(chan error, 1)
	go func() { httpErr <- s.http.Shutdown(ctx) }()
	err := s.hub.Shutdown(ctx)
	if herr := <-httpErr; herr != nil {
		err = herr
	}
	if s.ln != nil {
		<-s.done
	}
	if s.redirect != nil {
		if rerr := s.redirect.Shutdown(ctx); rerr != nil && err == nil {
			err = rerr
		}
		<-s.redirectDone
	}
	return err
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// serveChat upgrades a request for a room to a WebSocket session.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	room, ok := roomFromPath(r.URL.EscapedPath())
	if !ok {
		http.Error(w, "room names are 1 to 64 characters of A-Z a-z 0-9 _ -", http.StatusBadRequest)
		return
	}
	from := clientOf(r, s.cfg.TrustedProxies)
	if !originAllowed(r, from, s.cfg.AllowedOrigins) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	leave, ok := s.rooms.enter(room)
	if !ok {
		s.cfg.Observer.HandshakeRefused("rooms")
		http.Error(w, roomsRefusal(s.cfg.MaxRooms), http.StatusForbidden)
		return
	}
	release, refused := s.admit.admit(r.Context(), addressKey(from.remote))
	if refused != nil {
		leave()
		if refused.why != "gone" {
			s.cfg.Observer.HandshakeRefused(refused.why)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int((refused.retryAfter+time.Second-1)/time.Second)))
		http.Error(w, refused.reason, http.StatusServiceUnavailable)
		return
	}
	batch := &batchWriter{}
	conn, err := websocket.Accept(smallBuffers{w, batch}, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // originAllowed has checked the origin
		Subprotocols:       []string{actions.Subprotocol},
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		release()
		leave()
		return // Accept has answered the request
	}
	conn.SetReadLimit(s.cfg.FrameLimit)
	sess := newSession(s.hub, conn, room, from.remote, conn.Subprotocol() == actions.Subprotocol)
	sess.opened = leave
	sess.out.batch = batch
	if !s.hub.register(sess) {
		conn.Close(closeGoingAway, "server shutting down")
		release()
		leave()
		return
	}
	// The socket is served in a goroutine of its own, and the handler
	// returns: net/http's request, its state and buffers are freed rather
	// than held for the socket's life.
	go func() {
		defer release()
		defer s.hub.unregister(sess)
		defer conn.CloseNow()
		// As net/http did for the handler: a panic ends the socket, not the
		// process.
		defer func() {
			if p := recover(); p != nil {
				s.log.Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("socket panicked")
			}
		}()
		sess.serve()
	}()
}
