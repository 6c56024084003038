package actions

import "time"

// Action is one event in the store's total order. Transport and middleware
// fill it in; the store assigns Seq; reducers read it and never change it.
//
// Everything a reducer needs that is not a pure function of the state (the
// time, generated ids) is a field of the action, so that replaying the same
// actions always rebuilds the same state.
type Action struct {
	// Seq is the position of the action in the store's total order, assigned
	// by the store when the action is applied. Zero until then.
	Seq uint64
	// ID identifies the action uniquely; set by the stamp middleware.
	ID string
	// Type names what happened, for example TypeWriteMessage.
	Type string
	// Room is the chat room the action belongs to.
	Room string
	// Session identifies the socket the action came from (or is about).
	Session string
	// User is the user id the action is about, when known.
	User string
	// At is when the action entered the server; set by the stamp middleware.
	At time.Time
	// Payload holds the type's own fields: one of the payload types of this
	// package (Open, Connect, WriteMessage, PostMessage, Expire, NodeDown),
	// a payload registered with RegisterPayload, or nil.
	Payload any
	// Outcome is what applying the action did, set by the store together
	// with Seq. Its dispatcher, and every middleware once next returned
	// nil, reads it there instead of going back to a state that may
	// already include later actions. It is never logged: a replay
	// computes it again from the states around the action.
	Outcome Outcome
}

// Outcome is what the reducer granted an applied action: what its sender
// must be told and what middleware reacting to it must act on, as opposed
// to what the action asked for.
type Outcome struct {
	// Applied is false when the reducer ignored the action and returned
	// the state it was given: a duplicate clientId, a write or connect
	// from a socket that is not open, a stale expiry. Such an action keeps
	// its seq in the log and changes nothing.
	Applied bool
	// User is the id the action is about once applied: for TypeConnect, the
	// claimed id or the fresh Fallback the reducer gave instead; for an
	// action of a socket, that socket's user; otherwise Action.User.
	User string
	// Seq is the seq whose effect stands for the action: for a
	// TypeWriteMessage whose clientId the room already had, the original
	// write's; otherwise the action's own.
	Seq uint64
}

// The chat action types.
const (
	// TypeOpenSession: a socket was accepted in Room; it is establishing a
	// connection. Payload Open, or nil, which means Open{} (a single-node
	// server, and every log written before cluster mode).
	TypeOpenSession = "session/open"
	// TypeConnect: the socket Session identified itself as User. Payload Connect.
	TypeConnect = "session/connect"
	// TypeCloseSession: the socket Session closed. No payload.
	TypeCloseSession = "session/close"
	// TypeWriteMessage: the user of Session posted a message. Payload WriteMessage.
	TypeWriteMessage = "message/write"
	// TypePostMessage: server code (a bot, an integration) posts a message
	// in Room as User, without a socket. Payload PostMessage.
	TypePostMessage = "message/post"
	// TypeExpirePresence: User's grace period in Room ran out. Payload Expire.
	TypeExpirePresence = "presence/expire"
	// TypeServerStart: the server started. Every socket in the state belongs
	// to an earlier run and is gone: all of them close at once, and their
	// users enter the grace period. No room, no payload.
	TypeServerStart = "server/start"
	// TypeNodeDown: the cluster node NodeDown.Node is gone. Every socket it
	// held, in every room, is closed, and its users who have no socket left
	// on another node leave the user list at once, as do the users whose
	// grace period it was keeping (its lease was their grace period). A
	// repeat changes nothing, so that several surviving nodes may dispatch
	// it. No room; payload NodeDown.
	TypeNodeDown = "node/down"
)

// Open is the payload of TypeOpenSession.
type Open struct {
	// Node is the id of the cluster node that holds the socket; "" on a
	// single-node server.
	Node string
}

// Connect is the payload of TypeConnect. Action.User is the id the client
// claims. Whether it may have it is decided by the reducer, from the state,
// so that replays decide the same (docs/protocol.md, "Ids and tokens"):
//
//   - a verified claim (proven by middleware, such as auth) gets the id;
//   - a strict claim (a v2 client, or any client that sent a token) gets the
//     id if the id is present in no room, or if TokenHash is bound to it;
//   - a plain claim (a v1 client without a token) gets the id unless it is
//     present and bound to a token;
//   - otherwise the socket gets Fallback, a fresh id.
//
// A strict claim then binds FreshTokenHash to the id it got if the claim
// starts the id's binding (the id has no token yet) or is verified;
// otherwise the id keeps the token it has, the one the client sent. So an
// id has one token while its binding lasts, whatever the number of
// connects. Tokens enter the state and the log only as SHA-256 hashes.
//
// NewTokenHash is how older versions bound tokens: one more per strict
// claim. Their logs still hold it and fold as they did; this version
// never sets it.
type Connect struct {
	// Username is the name the user gave in `connecting`.
	Username string
	// Fallback is the fresh id the socket gets when the claim fails.
	Fallback string
	// Strict marks a claim that must prove itself with a token.
	Strict bool
	// TokenHash is the hash of the token the client presented, if any.
	TokenHash string
	// NewTokenHash, in logs of older versions, is the hash of a fresh token
	// bound to the id after every strict claim, beside the earlier ones.
	NewTokenHash string
	// Verified marks a claim that middleware has already proven (the auth
	// middleware, from a signed token): it gets its id whatever the bindings.
	Verified bool
	// FreshTokenHash is the hash of a fresh token the socket is handed if
	// the claim binds it (see above).
	FreshTokenHash string
}

// WriteMessage is the payload of TypeWriteMessage.
type WriteMessage struct {
	// Message is the text to post.
	Message string
	// ClientID is the client's optional idempotency key.
	ClientID string
}

// PostMessage is the payload of TypePostMessage.
type PostMessage struct {
	// Username is the name the message is shown with.
	Username string
	// Message is the text to post.
	Message string
}

// Expire is the payload of TypeExpirePresence.
type Expire struct {
	// Since is the Seq of the TypeCloseSession action that closed the user's
	// last socket in the room. The expiry applies only if the user has had no
	// socket in the room since then.
	Since uint64
}

// NodeDown is the payload of TypeNodeDown.
type NodeDown struct {
	// Node is the id of the node that is gone. "" names no node: the
	// sockets of a single-node server are never closed this way (that is
	// TypeServerStart's job), so a NodeDown without a node changes nothing.
	Node string
}

// ValidRoom reports whether name is a room name: 1 to 64 characters of
// A-Z a-z 0-9 _ -.
func ValidRoom(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
