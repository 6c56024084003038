package replay

import "encoding/json"

// The parts of a chat state that Verify tells apart, by kind: a room's
// existence, message window (each message by its seq), clientId window,
// each user of its user list, each socket; and each id's binding (rooms
// counted, tokens), which belongs to no room.
const (
	partRoom     = "room"
	partMessages = "messages"
	partWritten  = "written"
	partUser     = "user"
	partSession  = "socket"
	partID       = "id"
)

// wildcard, as the id of a part key, stands for every part of its kind
// and room; everything, as a key, for every part of the state.
const (
	wildcard   = "\x00*"
	everything = "*"
)

// part names one part of a state.
type part struct{ kind, room, id string }

func partKey(kind, room, id string) string { return kind + "\x00" + room + "\x00" + id }

// stateParts is a state cut into parts, each as its canonical JSON.
type stateParts struct {
	parts    map[part]string
	messages map[string]map[uint64]string // room → seq → message
}

// snapshotParts is the shape of chat.Codec's encoding that partsOf reads.
type snapshotParts struct {
	Rooms []struct {
		Name     string            `json:"name"`
		Messages []json.RawMessage `json:"messages"`
		Users    []json.RawMessage `json:"users"`
		Sessions []json.RawMessage `json:"sessions"`
		Written  json.RawMessage   `json:"written"`
	} `json:"rooms"`
	IDs []json.RawMessage `json:"ids"`
}

// partsOf cuts the encoding of a state (chat.Codec's) into parts, or
// returns nil if it cannot read it.
func partsOf(data []byte) *stateParts {
	var snap snapshotParts
	if json.Unmarshal(data, &snap) != nil {
		return nil
	}
	p := &stateParts{parts: map[part]string{}, messages: map[string]map[uint64]string{}}
	for _, r := range snap.Rooms {
		p.parts[part{partRoom, r.Name, ""}] = "{}"
		p.parts[part{partWritten, r.Name, ""}] = string(r.Written)
		msgs := map[uint64]string{}
		for _, m := range r.Messages {
			var k struct{ Seq uint64 }
			json.Unmarshal(m, &k)
			msgs[k.Seq] = string(m)
		}
		p.messages[r.Name] = msgs
		for _, u := range r.Users {
			var k struct{ User struct{ ID string } }
			json.Unmarshal(u, &k)
			p.parts[part{partUser, r.Name, k.User.ID}] = string(u)
		}
		for _, s := range r.Sessions {
			var k struct{ ID string }
			json.Unmarshal(s, &k)
			p.parts[part{partSession, r.Name, k.ID}] = string(s)
		}
	}
	for _, i := range snap.IDs {
		var k struct{ ID string }
		json.Unmarshal(i, &k)
		p.parts[part{partID, "", k.ID}] = string(i)
	}
	return p
}
