// Package middleware holds statecast's built-in middleware, one per file.
//
// The default chain, outermost first, is:
//
//	Recover → Stamp → Logger → Validate → (user middleware) → Presence
//
// Each is a store.Middleware; see its doc comment for what it does, what it
// does not, and where it belongs in the chain.
package middleware
