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
// # Your middleware in the chain
//
// Every action, from a socket or from server code, passes one chain,
// outermost first:
//
//	Recover → Stamp → Logger → Metrics → RateLimit → Auth → Validate → Presence → yours → reducer
//
// Use appends to the one slot there is, after every built-in, in the order
// given. Your middleware therefore sees only actions that passed every
// built-in check, with their id and time set, and its rejections are still
// logged (Logger) and counted (Metrics), and its panics recovered (Recover).
// Presence sees the result of your middleware and the reducer together.
// Call Use before Open; New has already dispatched server/start (in a
// cluster, node/down for the node's own id), so your middleware never sees
// that one.
//
// Only that slot is open. A middleware cannot run before Validate, so it
// cannot repair an action Validate would refuse; and what it changes is not
// validated again: keep your changes within the limits, or re-check with
// srv.Use(yours, middleware.Validate(limits)). Actions of the socket
// lifecycle (session/open, session/close, presence/expire) record facts:
// pass them on, or the state disagrees with the sockets. For another order
// altogether, assemble the parts yourself: store.Open, the middleware
// package and transport.NewServer are public.
//
// # A node of a cluster
//
// With Config.Cluster.NATS set, the action log is a NATS JetStream stream
// shared by several servers: every node applies every node's actions in
// the stream's order and pushes the changes to its own sockets, and a node
// silent for longer than its lease has its sockets closed by the others
// (see Cluster). Middleware runs on the node that received the action, once.
//
// See store.Middleware for what a middleware may and must not do, and the
// examples/ folder of the repository for complete programs: a dice bot
// that answers commands by dispatching actions of its own, and a word
// filter that masks or rejects messages.
package server
