package server

import (
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/store"
)

// builtins returns the built-in middleware, outermost first. Middleware
// added with Use comes after all of them.
func (s *Server) builtins() []store.Middleware {
	log := s.cfg.Logger
	return []store.Middleware{
		middleware.Recover(log),
		middleware.Stamp(nil),
		middleware.Logger(log, s.cfg.LoggerOptions),
		s.metrics.middleware(),
		s.limiter,
		s.auth, // a pass-through unless Config.Auth has a secret
		middleware.Validate(s.cfg.Limits),
		s.presence.Middleware(),
	}
}
