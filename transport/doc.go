// Package transport is statecast's network edge: the HTTP server, the
// WebSocket endpoint /chat/{room}, one Session per socket (a reader that
// turns frames into actions, a writer that drains a bounded queue), and the
// Hub, the store subscriber that diffs each change, encodes it once and
// hands the same bytes to every socket of the room. It also serves the
// embedded chat page at /.
package transport
