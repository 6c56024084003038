package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/statecast/statecast/inspect"
)

// Inspect configures the inspector (package inspect): a page at /inspect/
// and its JSON API, that show the action log, the state after any action
// and the change each made. It only reads.
type Inspect struct {
	// Enabled serves it. Off by default. It reads the log of Data or of
	// the Cluster's stream: a server in memory only has none to show.
	Enabled bool
	// Token is the admin token a client must present (Authorization:
	// Bearer, or ?token= once, which sets a cookie). Empty: only loopback
	// clients get in.
	Token string
}

// mountInspector starts the inspector over the server's log and adds its
// routes to cfg.Transport.
func (s *Server) mountInspector(ctx context.Context, cfg *Config) error {
	if !cfg.Inspect.Enabled {
		return nil
	}
	var src inspect.Source
	switch {
	case cfg.Cluster.enabled():
		src = inspect.Stream{URLs: cfg.Cluster.NATS, Name: cfg.Cluster.Stream}
	case cfg.Data != "":
		src = inspect.Dir(cfg.Data)
	default:
		return errors.New("the inspector reads the action log: it needs a data directory or a cluster")
	}
	h, err := inspect.New(ctx, inspect.Config{Source: src, History: cfg.History, Token: cfg.Inspect.Token,
		Store: s.store, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	s.inspector = h
	routes := map[string]http.Handler{"/inspect": h, "/inspect/": h}
	for p, r := range cfg.Transport.Routes {
		routes[p] = r
	}
	cfg.Transport.Routes = routes
	return nil
}
