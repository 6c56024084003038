package chattest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
)

// Memory, as Config.Data, keeps a started server's state in memory only
// (Start otherwise gives it a fresh directory).
const Memory = "\x00memory"

// Timeout bounds every wait of the harness: a server start or stop, a dial,
// a read, a write.
const Timeout = 10 * time.Second

// Server is a statecast server started by Start.
type Server struct {
	*server.Server
	// Config is the configuration as started, with the listening address
	// and the data directory filled in: Start(t, s.Config) after Stop
	// restarts the server on the same address and data.
	Config server.Config

	stopOnce sync.Once
	stopErr  error
}

// Start runs server.New(ctx, cfg) and Open, and shuts the server down when
// the test ends, failing the test if that shutdown fails. An empty
// cfg.Transport.Addr listens on a free loopback port; an empty cfg.Data is
// a fresh t.TempDir() (Memory keeps the state in memory only). The logger
// is cfg.Logger, by default none. mw is installed with Use before Open.
func Start(t testing.TB, cfg server.Config, mw ...store.Middleware) *Server {
	t.Helper()
	return StartWith(t, cfg, func(srv *server.Server) { srv.Use(mw...) })
}

// StartWith is Start, with setup run between server.New and Open: for
// middleware that needs the server's store, and cleanups that must run
// after the server stopped (register them in setup).
func StartWith(t testing.TB, cfg server.Config, setup func(*server.Server)) *Server {
	t.Helper()
	if cfg.Transport.Addr == "" {
		cfg.Transport.Addr = "127.0.0.1:0"
	}
	switch cfg.Data {
	case "":
		cfg.Data = t.TempDir()
	case Memory:
		cfg.Data = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("chattest: server.New: %v", err)
	}
	if setup != nil {
		setup(srv)
	}
	if err := srv.Open(); err != nil {
		srv.Shutdown(ctx)
		t.Fatalf("chattest: Open: %v", err)
	}
	cfg.Transport.Addr = srv.Addr().String()
	if cfg.Data == "" {
		cfg.Data = Memory
	}
	s := &Server{Server: srv, Config: cfg}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("chattest: shutdown: %v", err)
		}
	})
	return s
}

// Stop shuts the server down gracefully (every socket closes with 1001
// after its queued frames) within Timeout. Calls after the first return the
// first one's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		s.stopErr = s.Shutdown(ctx)
	})
	return s.stopErr
}

// URL returns the ws:// URL of path (for example "/chat/lobby").
func (s *Server) URL(path string) string { return "ws://" + s.Addr().String() + path }

// HTTPURL returns the http:// URL of path.
func (s *Server) HTTPURL(path string) string { return "http://" + s.Addr().String() + path }

// Get fetches path over HTTP and returns the response with its body read.
func (s *Server) Get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return resp, string(b)
}

// Metric returns the value of one unlabelled sample of the server's
// /metrics (for example "statecast_sockets"); it fails the test if there is
// none.
func (s *Server) Metric(t testing.TB, name string) float64 {
	t.Helper()
	_, body := s.Get(t, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
