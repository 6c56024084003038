// Package chat holds statecast's chat state: per room, the retained message
// window, the user list and every socket's connection status; the pure
// reducer that folds chat actions into it; and the diff that tells the
// subscriber layer what changed between two states of a room.
//
// States are persistent: every version shares structure with the previous
// one (hash array mapped tries for maps, a radix-balanced vector for the
// message window), so applying an action costs O(log n) in the size of the
// room and nothing in the length of the history.
package chat
