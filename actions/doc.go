// Package actions is statecast's vocabulary: the Action envelope that flows
// through the store, the chat action types and their payloads, the Error type
// whose code is the wire error code, and the codec for the wire protocol
// (decoding client frames, encoding v1 server events).
//
// The package depends on nothing else in statecast, so user middleware can
// import it together with package store and nothing more.
package actions
