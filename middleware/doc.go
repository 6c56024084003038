// Package middleware holds statecast's built-in middleware, one per file.
//
// The chain package server installs, outermost first, is:
//
//	Recover → Stamp → Logger → Metrics → RateLimit → Auth → Validate → Presence → (yours) → reducer
//
// Each is a store.Middleware; see its doc comment for what it does, what it
// does not, and where it belongs in the chain.
package middleware
