package loadtest

import (
	"bytes"
	"strconv"
)

// The tool reads every frame every client receives, on the same two cores
// as the server, so it never decodes a frame it does not have to. These
// scanners find the few bytes it needs: the event name, the newest message
// of a v1 messageWritten (whose messagesList holds the whole history), and
// the messages a v2 patch adds. They read untrusted bytes: they never panic,
// and answer ok=false when the frame is not in the shape they know, so that
// the caller falls back to encoding/json.

// frameEvent returns the event name of a frame that starts with
// {"event":"NAME", as statecast and the seed peer write every frame; ok is
// false for any other frame (other key order, whitespace, escapes, not JSON).
func frameEvent(b []byte) (name []byte, ok bool) {
	const prefix = `{"event":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	rest := b[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, false
	}
	return rest[:end], true
}

// lastMessageText returns the "message" string of the last element of a v1
// frame {"event":"messageWritten","messagesList":[…,{…}]} without reading
// the elements before it: it finds the last `"message":"` that follows a {
// or a , and checks that only scalar fields and `}]}` follow it. In valid
// JSON such a quote opens a key, and the checked tail proves it is a key of
// the list's last element, provided messagesList is the frame's last field,
// as both servers write it. ok is false when the frame is in another shape
// (not compact, fields after the list, a nested value after the message).
func lastMessageText(b []byte) (text []byte, ok bool) {
	const prefix, key = `{"event":"messageWritten","messagesList":[`, `"message":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	i := bytes.LastIndex(b, []byte(key))
	// A key starts after { or , in a compact object; any other quote
	// before "message" is inside a string (`"a\"message":"`), or the
	// frame is not compact: look further back, or give up.
	for i > 0 && b[i-1] != '{' && b[i-1] != ',' {
		i = bytes.LastIndex(b[:i], []byte(key))
	}
	if i < len(prefix) {
		return nil, false
	}
	start := i + len(key) - 1 // the value's opening quote
	end, esc, ok := scanString(b, start)
	if !ok || !scalarTail(b, end) {
		return nil, false
	}
	return stringBytes(b[start:end], esc)
}

// scalarTail reports whether b[i:] is the rest of an object of scalar
// fields, closing the frame's list and object: (,"key":scalar)* } ] }.
func scalarTail(b []byte, i int) bool {
	for i < len(b) {
		switch b[i] {
		case '}':
			return string(b[i+1:]) == "]}"
		case ',':
			end, esc, ok := scanString(b, i+1)
			if !ok || end >= len(b) || b[end] != ':' {
				return false
			}
			if key, _ := stringBytes(b[i+1:end], esc); string(key) == "message" {
				return false // a repeated key: the last one counts, and it is not a string
			}
			i = end + 1
			if i < len(b) && b[i] == '"' {
				if i, _, ok = scanString(b, i); !ok {
					return false
				}
			} else if i = skipLiteral(b, i); i < 0 {
				return false
			}
		default:
			return false
		}
	}
	return false
}

// patchMessages appends to texts the "message" of every value that a v2
// frame's ops add at /messages/-, in order, and returns the frame's seq.
// It walks the frame's structure without decoding anything else; it accepts
// any key order and whitespace. Like encoding/json, a repeated key counts
// once, with its last value. ok is false if the frame is not an object.
func patchMessages(b []byte, texts [][]byte) (_ [][]byte, seq uint64, ok bool) {
	if texts, seq, ok := compactPatchMessages(b, texts); ok {
		return texts, seq, true
	}
	base := len(texts)
	ok = eachField(b, 0, func(key []byte, v, end int) bool {
		switch string(key) {
		case "seq":
			seq, _ = strconv.ParseUint(string(b[v:end]), 10, 64)
		case "ops":
			texts = texts[:base] // a repeated "ops": the last one counts
			return eachElement(b, v, func(e, _ int) bool {
				if t, ok := addedMessage(b, e); ok {
					texts = append(texts, t)
				}
				return true
			})
		}
		return true
	})
	return texts, seq, ok
}

// compactPatchMessages is patchMessages for a frame in the exact shape
// statecast writes, {"event":"patch","seq":N,"ops":[…]} with every op
// {"op":"add"|"remove","path":"…"[,"value":…]} in that key order, compact,
// its path without escapes: it reads each message's value once instead of
// walking the frame level by level. ok is false for a frame in any other
// shape, and texts is then as it was.
func compactPatchMessages(b []byte, texts [][]byte) (_ [][]byte, seq uint64, ok bool) {
	const head, opsKey = `{"event":"patch","seq":`, `,"ops":[`
	const addMessage, add, remove = `{"op":"add","path":"/messages/-","value":`, `{"op":"add","path":"`, `{"op":"remove","path":"`
	base := len(texts)
	if !bytes.HasPrefix(b, []byte(head)) {
		return texts, 0, false
	}
	n, i, ok := parseDigits(b, len(head), 19)
	if !ok || !bytes.HasPrefix(b[i:], []byte(opsKey)) {
		return texts, 0, false
	}
	i += len(opsKey)
	for i < len(b) && b[i] != ']' {
		var end int
		switch rest := b[i:]; {
		case bytes.HasPrefix(rest, []byte(addMessage)):
			var text []byte
			found := false
			end = fieldsEnd(b, i+len(addMessage), func(key []byte, v, e int) bool {
				if string(key) == "message" { // a repeated key: the last one counts
					text, found = stringToken(b, v, e)
				}
				return true
			})
			if found {
				texts = append(texts, text)
			}
		case bytes.HasPrefix(rest, []byte(add)), bytes.HasPrefix(rest, []byte(remove)):
			prefix := len(remove)
			if bytes.HasPrefix(rest, []byte(add)) {
				prefix = len(add)
			}
			pend, esc, ok := scanString(b, i+prefix-1)
			if !ok || esc { // an escaped path may spell /messages/-
				return texts[:base], 0, false
			}
			end = pend
			if prefix == len(add) {
				const valueKey = `,"value":`
				if !bytes.HasPrefix(b[end:], []byte(valueKey)) {
					return texts[:base], 0, false
				}
				end = skipValue(b, end+len(valueKey))
			}
		default:
			return texts[:base], 0, false
		}
		if end < 0 || end >= len(b) || b[end] != '}' {
			return texts[:base], 0, false
		}
		i = end + 1
		if i < len(b) && b[i] == ',' && i+1 < len(b) && b[i+1] != ']' {
			i++
		} else if i >= len(b) || b[i] != ']' {
			return texts[:base], 0, false
		}
	}
	if string(b[i:]) != "]}" {
		return texts[:base], 0, false
	}
	return texts, uint64(n), true
}

// addedMessage returns the message text of an op {"op":"add",
// "path":"/messages/-","value":{…,"message":"…"}} that starts at b[i];
// ok is false for any other op.
func addedMessage(b []byte, i int) (text []byte, ok bool) {
	var op, path []byte
	value := -1
	if !eachField(b, i, func(key []byte, v, end int) bool {
		switch string(key) {
		case "op":
			op, _ = stringToken(b, v, end)
		case "path":
			path, _ = stringToken(b, v, end)
		case "value":
			value = v
		}
		return true
	}) || string(op) != "add" || string(path) != "/messages/-" || value < 0 {
		return nil, false
	}
	ok = false
	eachField(b, value, func(key []byte, v, end int) bool {
		if string(key) == "message" {
			text, ok = stringToken(b, v, end)
		}
		return true
	})
	return text, ok
}
