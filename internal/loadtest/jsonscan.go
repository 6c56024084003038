package loadtest

import "encoding/json"

// The walkers below find the span of JSON values in untrusted bytes
// without decoding them; they never panic, and report malformed input
// as false or -1.

// eachField calls fn for each field of the object at b[i] (after
// whitespace) with its unescaped key and its value's span b[v:end]. It
// stops early, reporting false, if fn does or the object is malformed.
func eachField(b []byte, i int, fn func(key []byte, v, end int) bool) bool {
	return fieldsEnd(b, i, fn) >= 0
}

// fieldsEnd is eachField that returns the index just past the object's
// closing brace, or -1.
func fieldsEnd(b []byte, i int, fn func(key []byte, v, end int) bool) int {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for i < len(b) {
		kend, esc, ok := scanString(b, i)
		if !ok {
			return -1
		}
		key, ok := stringBytes(b[i:kend], esc)
		if !ok {
			return -1
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		v := skipSpace(b, i+1)
		end := skipValue(b, v)
		if end < 0 || !fn(key, v, end) {
			return -1
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '}':
			return i + 1
		case ',':
			i = skipSpace(b, i+1)
		default:
			return -1
		}
	}
	return -1
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
