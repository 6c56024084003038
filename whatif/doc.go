// Package whatif replays a recorded action log through a program's current
// middleware chain and reducer, in a sandbox, and reports what the chain
// would have done otherwise: the actions it now rejects, the actions it
// now changes, and how the final state differs from the recorded one.
//
// The sandbox is a store.Store in memory: nothing listens, nothing is
// written to any log, no snapshot is saved. Every recorded action keeps its
// ID and its time At (middleware.Stamp sets neither when it is already
// set), and gets its recorded seq when nothing was added before it, so the
// reducer sees the actions as it saw them the first time.
//
// The chain is middleware.Recover, middleware.Stamp, middleware.Validate
// with the server's Limits, then the program's own middleware (Setup), in
// the order the server installs them. The built-ins that depend on live
// connections are left out: rate limits (a replay runs faster than any
// client), authentication (the log holds ids, not the tokens that proved
// them) and presence timers (the grace periods' expiries are in the log
// already).
//
//	rep, err := whatif.Run(ctx, whatif.Config{Dir: "./data", Setup: setup})
//	...
//	rep.Print(os.Stdout)
package whatif
