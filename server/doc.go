// Package server assembles a complete statecast chat server: the store
// recovered from the action log, the built-in middleware chain, the
// WebSocket transport and the chat page. It is the public way to run
// statecast with your own middleware:
//
//	srv, err := server.New(ctx, server.Config{Data: "./data"})
//	if err != nil { ... }
//	srv.Use(myMiddleware)
//	err = srv.Run(ctx) // serves until ctx ends, then shuts down gracefully
//
// The chain, outermost first, is Recover → Stamp → Logger → Validate →
// Presence → your middleware → reducer. Your middleware therefore sees only
// actions that passed every built-in check, with their id and time set;
// see store.Middleware for what a middleware may and must not do.
package server
