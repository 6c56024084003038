package chat

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/statecast/statecast/actions"
)

// snapshotVersion is the version of the snapshot encoding below.
const snapshotVersion = 1

// Codec encodes states for snapshots (it implements store.Codec[State]).
// The encoding is canonical: equal states give equal bytes, so comparing
// encodings compares states.
//
// An id's token ("token") and the tokens older versions bound to it
// ("tokens") are left out when it has none, so snapshots of older versions,
// which have only "tokens", decode as they were. A socket's node and a
// grace period's node (Session.Node, Presence.LeftOn) are left out when
// empty, so snapshots written before sockets had nodes decode as states
// whose sockets are no node's, and a single-node state encodes to the same
// bytes as it always did.
type Codec struct{}

type snapshotJSON struct {
	Version int            `json:"version"`
	Rooms   []roomJSON     `json:"rooms"`
	IDs     []identityJSON `json:"ids,omitempty"`
}

// identityJSON is one id's presence count and the hashes of its tokens.
type identityJSON struct {
	ID string `json:"id"`
	identity
}

type roomJSON struct {
	Name     string            `json:"name"`
	Messages []actions.Message `json:"messages"`
	Users    []Presence        `json:"users"`
	Sessions []Session         `json:"sessions"`
	Written  []writtenJSON     `json:"written,omitempty"`
}

// writtenJSON is one remembered clientId, oldest first.
type writtenJSON struct {
	Key string `json:"key"`
	Seq uint64 `json:"seq"`
}

// Encode returns the canonical JSON of s.
func (Codec) Encode(s State) ([]byte, error) {
	snap := snapshotJSON{Version: snapshotVersion, Rooms: []roomJSON{}}
	for _, name := range s.RoomNames() {
		r := s.Room(name)
		rj := roomJSON{Name: name, Messages: r.Messages(), Users: r.Presences(), Sessions: r.sessionList()}
		for _, e := range r.written.Entries() {
			rj.Written = append(rj.Written, writtenJSON{Key: e.key, Seq: e.seq})
		}
		snap.Rooms = append(snap.Rooms, rj)
	}
	for id, i := range s.ids.All() {
		snap.IDs = append(snap.IDs, identityJSON{ID: id, identity: i})
	}
	sort.Slice(snap.IDs, func(a, b int) bool { return snap.IDs[a].ID < snap.IDs[b].ID })
	return json.Marshal(snap)
}

// Decode rebuilds a state from Encode's output.
func (Codec) Decode(data []byte) (State, error) {
	var snap snapshotJSON
	if err := json.Unmarshal(data, &snap); err != nil {
		return State{}, fmt.Errorf("chat: decoding snapshot: %w", err)
	}
	if snap.Version != snapshotVersion {
		return State{}, fmt.Errorf("chat: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	var s State
	for _, rj := range snap.Rooms {
		r := newRoom(rj.Name)
		r.messages = messageWindowOf(rj.Messages)
		for _, p := range rj.Users {
			r.users = r.users.Set(p.User.ID, p)
		}
		for _, ss := range rj.Sessions {
			r.sessions = r.sessions.Set(ss.ID, ss)
		}
		written := make([]clientIDEntry, len(rj.Written))
		for i, w := range rj.Written {
			written[i] = clientIDEntry{key: w.Key, seq: w.Seq}
		}
		r.written = clientIDWindowOf(written)
		s = s.withRoom(r)
	}
	for _, i := range snap.IDs {
		s = s.withIdentity(i.ID, i.identity)
	}
	return s, nil
}

// Presences returns the user-list entries in the order users entered.
func (r *Room) Presences() []Presence {
	out := make([]Presence, 0, r.users.Len())
	for _, p := range r.users.All() {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Entered < out[j].Entered })
	return out
}

// sessionList returns the sessions ordered by id.
func (r *Room) sessionList() []Session {
	out := make([]Session, 0, r.sessions.Len())
	for _, s := range r.sessions.All() {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
