package actions

import "strconv"

// Server events of the v2 (state-sync) dialect.
const (
	EventSnapshot = "snapshot"
	EventResumed  = "resumed"
	EventPatch    = "patch"
	EventAck      = "ack"
)

// Subprotocol is the WebSocket subprotocol a client offers to speak v2.
const Subprotocol = "statecast.v2"

// EncodeSnapshot returns the v2 `snapshot` frame: the room's state as the
// receiving socket mirrors it, after seq. messages holds the encoded
// messages (EncodeMessage), oldest first.
func EncodeSnapshot(seq uint64, id, token string, users []User, messages [][]byte) []byte {
	b := make([]byte, 0, listSize(messages)+128)
	b = append(b, `{"event":"snapshot","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"state":{"messages":`...)
	b = AppendList(b, messages)
	b = append(b, `,"userList":`...)
	if users == nil {
		users = []User{}
	}
	b = append(b, mustMarshal(users)...)
	b = append(b, `,"isConnected":true,"isEstablishingConnection":false},"id":`...)
	b = append(b, mustMarshal(id)...)
	b = append(b, `,"token":`...)
	b = append(b, mustMarshal(token)...)
	return append(b, '}')
}

// EncodeResumed returns the v2 `resumed` frame.
func EncodeResumed(seq uint64, id, token string) []byte {
	b := append([]byte(`{"event":"resumed","seq":`), strconv.FormatUint(seq, 10)...)
	b = append(b, `,"id":`...)
	b = append(b, mustMarshal(id)...)
	b = append(b, `,"token":`...)
	b = append(b, mustMarshal(token)...)
	return append(b, '}')
}

// EncodePatch returns one v2 `patch` frame carrying the given encoded
// operations (each a JSON object, see AppendAddOp), in order, as the
// change at seq: consecutive changes merge into one patch this way.
func EncodePatch(seq uint64, ops [][]byte) []byte {
	return AppendPatch(make([]byte, 0, PatchSize(ops)), seq, ops)
}

// PatchSize returns the most bytes EncodePatch and AppendPatch write for
// ops: the list, and the frame around it with a seq of up to 20 digits.
func PatchSize(ops [][]byte) int { return listSize(ops) + len(`{"event":"patch","seq":,"ops":}`) + 20 }

// AppendPatch appends the frame EncodePatch returns to b.
func AppendPatch(b []byte, seq uint64, ops [][]byte) []byte {
	b = append(b, `{"event":"patch","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"ops":`...)
	b = AppendList(b, ops)
	return append(b, '}')
}

// EncodeAck returns the v2 `ack` frame for a write with clientID, applied
// (or first applied) at seq.
func EncodeAck(clientID string, seq uint64) []byte {
	b := append([]byte(`{"event":"ack","clientId":`), mustMarshal(clientID)...)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, '}')
}

// AppendAddOp appends the RFC 6902 operation that adds the encoded JSON
// value at path (for example "/messages/-").
func AppendAddOp(b []byte, path string, value []byte) []byte {
	b = append(b, `{"op":"add","path":`...)
	b = append(b, mustMarshal(path)...)
	b = append(b, `,"value":`...)
	b = append(b, value...)
	return append(b, '}')
}

// AppendRemoveOp appends the RFC 6902 operation that removes path.
func AppendRemoveOp(b []byte, path string) []byte {
	b = append(b, `{"op":"remove","path":`...)
	b = append(b, mustMarshal(path)...)
	return append(b, '}')
}

// EncodeUser returns the JSON of one user-list entry.
func EncodeUser(u User) []byte { return mustMarshal(u) }
