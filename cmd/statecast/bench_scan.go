package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// The bench reads every frame every client receives, on the same two cores
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

// eachField calls fn for each field of the object at b[i] (after
// whitespace) with its unescaped key and its value's span b[v:end]. It
// stops early, reporting false, if fn does or the object is malformed.
func eachField(b []byte, i int, fn func(key []byte, v, end int) bool) bool {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		kend, esc, ok := scanString(b, i)
		if !ok {
			return false
		}
		key, ok := stringBytes(b[i:kend], esc)
		if !ok {
			return false
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		v := skipSpace(b, i+1)
		end := skipValue(b, v)
		if end < 0 || !fn(key, v, end) {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
	return false
}

// eachElement calls fn with the span of each element of the array at b[i].
func eachElement(b []byte, i int, fn func(v, end int) bool) bool {
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		end := skipValue(b, i)
		if end < 0 || !fn(i, end) {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ']':
			return true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
	return false
}

// stringToken returns the unescaped value of the JSON string b[v:end];
// ok is false if it is not a string.
func stringToken(b []byte, v, end int) ([]byte, bool) {
	if v >= end || b[v] != '"' {
		return nil, false
	}
	send, esc, ok := scanString(b, v)
	if !ok || send != end {
		return nil, false
	}
	return stringBytes(b[v:end], esc)
}

// stringBytes returns the contents of the quoted JSON string tok: a
// subslice when it has no escapes, else its decoded copy.
func stringBytes(tok []byte, esc bool) ([]byte, bool) {
	if !esc {
		return tok[1 : len(tok)-1], true
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// scanString returns the index just past the JSON string that starts with
// the quote at b[i], and whether it contains escapes.
func scanString(b []byte, i int) (end int, esc bool, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, esc, true
		case '\\':
			esc = true
			j++
		}
	}
	return 0, false, false
}

// skipValue returns the index just past the JSON value at b[i], or -1. It
// finds the end of objects and arrays by counting brackets outside strings,
// iteratively: nesting depth costs no stack.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		if !ok {
			return -1
		}
		return end
	case '{', '[':
	default:
		return skipLiteral(b, i)
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, _, ok := scanString(b, j)
			if !ok {
				return -1
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// skipLiteral returns the index just past the number, true, false or null
// at b[i], or -1 if there is none.
func skipLiteral(b []byte, i int) int {
	j := i
	for j < len(b) {
		c := b[j]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E' {
			j++
			continue
		}
		break
	}
	if j == i {
		return -1
	}
	return j
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// A bench message's text is its marker: w<writer>#<seq>@<unix nanoseconds
// when sent>, for example w3#17@1732550000123456789, optionally followed by
// a space and padding. History fill messages use f instead of w<writer>.

// appendMarker appends the marker of writer w's message seq sent at ns;
// w < 0 marks a history fill message.
func appendMarker(b []byte, w, seq int, ns int64) []byte {
	if w < 0 {
		b = append(b, 'f')
	} else {
		b = append(b, 'w')
		b = strconv.AppendInt(b, int64(w), 10)
	}
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, '@')
	return strconv.AppendInt(b, ns, 10)
}

// parseMarker reads a message text written by appendMarker; w is -1 for a
// fill message. ok is false for any other text.
func parseMarker(t []byte) (w, seq int, ns int64, ok bool) {
	if len(t) == 0 {
		return 0, 0, 0, false
	}
	i := 1
	switch t[0] {
	case 'f':
		w = -1
	case 'w':
		var n int64
		if n, i, ok = parseDigits(t, 1, 9); !ok {
			return 0, 0, 0, false
		}
		w = int(n)
	default:
		return 0, 0, 0, false
	}
	if i >= len(t) || t[i] != '#' {
		return 0, 0, 0, false
	}
	n, i, ok := parseDigits(t, i+1, 9)
	if !ok || i >= len(t) || t[i] != '@' {
		return 0, 0, 0, false
	}
	seq = int(n)
	if ns, i, ok = parseDigits(t, i+1, 19); !ok || i < len(t) && t[i] != ' ' {
		return 0, 0, 0, false
	}
	return w, seq, ns, true
}

// parseDigits reads 1 to max decimal digits at t[i] that fit an int64.
func parseDigits(t []byte, i, max int) (n int64, end int, ok bool) {
	j := i
	for j < len(t) && j-i < max && t[j] >= '0' && t[j] <= '9' {
		d := int64(t[j] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, 0, false
		}
		n = n*10 + d
		j++
	}
	if j == i || j < len(t) && t[j] >= '0' && t[j] <= '9' {
		return 0, 0, false
	}
	return n, j, true
}
