package loadtest

import (
	"math"
	"strconv"
)

// A load-test message's text is its marker: w<writer>#<seq>@<unix nanoseconds
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
