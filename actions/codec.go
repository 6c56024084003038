package actions

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// The binary form of an Action, used by action logs and snapshots. It is
// compact and fast to decode (replay reads millions of actions), and
// versioned by the log that stores it. Layout, all integers as varints:
//
//	seq, id, type, room, session, user   (strings: length, then UTF-8 bytes)
//	at                                   (0 for the zero time; else 1, Unix seconds, nanoseconds; read back in UTC)
//	payload kind                         (one byte, below), then its fields
//
// Payload kinds: 0 none; 1 Connect{username, fallback, strict (one byte),
// tokenHash, newTokenHash, verified (one byte)}; 2 WriteMessage{message,
// clientId}; 3 Expire{since}; 4 a payload registered with RegisterPayload:
// its name, then its JSON; 5 PostMessage{username, message}; 6 Open{node};
// 7 NodeDown{node}; 8 Connect with a freshTokenHash: the fields of kind 1,
// then freshTokenHash (never empty: a Connect without one is kind 1). Kinds
// are never renumbered: logs keep them for good. An
// open-session action written before kind 6 existed has kind 0, no payload,
// which readers take as Open{}.
const (
	payloadNone     = 0
	payloadConnect  = 1
	payloadWrite    = 2
	payloadExpire   = 3
	payloadCustom   = 4
	payloadPost     = 5
	payloadOpen     = 6
	payloadNodeDown = 7
	payloadConnect2 = 8
)

// ErrCorrupt is wrapped by every error of DecodeBinary.
var ErrCorrupt = errors.New("actions: corrupt binary action")

var (
	registryMu sync.RWMutex
	byName     = map[string]reflect.Type{}
	byType     = map[reflect.Type]string{}
)

// RegisterPayload lets actions carrying payloads of the type of example
// (a struct value that encoding/json can round-trip) be written to the
// action log under name. Call it from an init function, before the log is
// opened; names must be unique and stable across versions of a program.
func RegisterPayload(name string, example any) {
	t := reflect.TypeOf(example)
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := byName[name]; dup {
		panic("actions: payload name registered twice: " + name)
	}
	byName[name], byType[t] = t, name
}

// AppendBinary appends the binary form of a to b.
func AppendBinary(b []byte, a *Action) ([]byte, error) {
	b = binary.AppendUvarint(b, a.Seq)
	for _, s := range [...]string{a.ID, a.Type, a.Room, a.Session, a.User} {
		b = appendString(b, s)
	}
	if a.At.IsZero() {
		b = append(b, 0)
	} else {
		b = binary.AppendVarint(append(b, 1), a.At.Unix())
		b = binary.AppendUvarint(b, uint64(a.At.Nanosecond()))
	}
	switch p := a.Payload.(type) {
	case nil:
		b = append(b, payloadNone)
	case Connect:
		kind := byte(payloadConnect)
		if p.FreshTokenHash != "" {
			kind = payloadConnect2
		}
		b = appendString(appendString(append(b, kind), p.Username), p.Fallback)
		b = append(b, boolByte(p.Strict))
		b = appendString(appendString(b, p.TokenHash), p.NewTokenHash)
		b = append(b, boolByte(p.Verified))
		if p.FreshTokenHash != "" {
			b = appendString(b, p.FreshTokenHash)
		}
	case WriteMessage:
		b = appendString(appendString(append(b, payloadWrite), p.Message), p.ClientID)
	case Expire:
		b = binary.AppendUvarint(append(b, payloadExpire), p.Since)
	case PostMessage:
		b = appendString(appendString(append(b, payloadPost), p.Username), p.Message)
	case Open:
		b = appendString(append(b, payloadOpen), p.Node)
	case NodeDown:
		b = appendString(append(b, payloadNodeDown), p.Node)
	default:
		registryMu.RLock()
		name, ok := byType[reflect.TypeOf(p)]
		registryMu.RUnlock()
		if !ok {
			return b, fmt.Errorf("actions: payload %T of %s is not registered (see RegisterPayload)", p, a.Type)
		}
		js, err := json.Marshal(p)
		if err != nil {
			return b, fmt.Errorf("actions: encoding payload %s: %w", name, err)
		}
		b = appendString(appendString(append(b, payloadCustom), name), string(js))
	}
	return b, nil
}

// DecodeBinary decodes one action written by AppendBinary; data must hold
// exactly that action. Any other input gives an error wrapping ErrCorrupt.
func DecodeBinary(data []byte) (*Action, error) {
	r := reader{b: data, all: string(data)}
	a := &Action{Seq: r.uvarint()}
	a.ID, a.Type, a.Room, a.Session, a.User = r.string(), r.string(), r.string(), r.string(), r.string()
	if r.byte() == 1 {
		sec, nsec := r.varint(), r.uvarint()
		if nsec >= 1e9 {
			r.fail("nanoseconds %d out of range", nsec)
		}
		a.At = time.Unix(sec, int64(nsec)).UTC()
	}
	switch kind := r.byte(); kind {
	case payloadNone:
	case payloadConnect, payloadConnect2:
		c := Connect{Username: r.string(), Fallback: r.string(), Strict: r.byte() == 1,
			TokenHash: r.string(), NewTokenHash: r.string(), Verified: r.byte() == 1}
		if kind == payloadConnect2 {
			if c.FreshTokenHash = r.string(); c.FreshTokenHash == "" {
				r.fail("connect of kind %d without a fresh token hash", kind)
			}
		}
		a.Payload = c
	case payloadWrite:
		a.Payload = WriteMessage{Message: r.string(), ClientID: r.string()}
	case payloadExpire:
		a.Payload = Expire{Since: r.uvarint()}
	case payloadPost:
		a.Payload = PostMessage{Username: r.string(), Message: r.string()}
	case payloadOpen:
		a.Payload = Open{Node: r.string()}
	case payloadNodeDown:
		a.Payload = NodeDown{Node: r.string()}
	case payloadCustom:
		name, js := r.string(), r.string()
		if r.err == nil {
			a.Payload, r.err = decodeCustom(name, js)
		}
	default:
		r.fail("unknown payload kind %d", kind)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the action", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return a, nil
}

func decodeCustom(name, js string) (any, error) {
	registryMu.RLock()
	t, ok := byName[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: payload %q is not registered", ErrCorrupt, name)
	}
	v := reflect.New(t)
	if err := json.Unmarshal([]byte(js), v.Interface()); err != nil {
		return nil, fmt.Errorf("%w: payload %q: %v", ErrCorrupt, name, err)
	}
	return v.Elem().Interface(), nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes varints and strings; after the first error it returns
// zero values and keeps the error.
type reader struct {
	b   []byte
	err error
	// all is the whole input as one string: the decoded strings are slices
	// of it, one allocation per action instead of one per field.
	all string
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("unexpected end of the action")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail("string of %d bytes with %d left", n, len(r.b))
		return ""
	}
	start := len(r.all) - len(r.b)
	r.b = r.b[n:]
	return r.all[start : start+int(n)]
}
