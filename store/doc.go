// Package store is statecast's Redux-style core. It knows nothing of chat,
// sockets or files.
//
// An action passes the middleware chain (Middleware), reaches the store's
// single apply loop, gets the next sequence number, and is folded into the
// state by the Reducer. Every subscriber then sees the Change: the action and
// the states before and after it. Because there is one apply loop, all
// actions form one total order, and the state after seq N is exactly
// reduce(state after N-1, action N).
//
// States are values that readers never see change: a Reducer returns a new
// state and must share structure with the old one rather than mutate it.
package store
