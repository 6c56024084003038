// Package chat holds statecast's chat state: per room, the retained message
// window, the user list and every socket's connection status and node; the
// pure reducer that folds chat actions into it; and the diff that tells the
// subscriber layer what changed between two states of a room.
//
// States are persistent: every version shares structure with the previous
// one, so applying an action costs O(log n) in the size of the room and,
// amortized, O(1) in the length of the history (docs/architecture.md,
// rule 4, "Immutable states").
// Rooms, users, sessions and ids are hash array mapped tries (hashMap); a
// room's message window and clientId window are windows whose versions
// share one append-only array (window, clientIDWindow). Any goroutine may
// read any version while the apply loop makes new ones.
package chat
