package loadtest

import "testing"

func TestMarker(t *testing.T) {
	t.Parallel()
	b := appendMarker(nil, 3, 17, 1732550000123456789)
	if string(b) != "w3#17@1732550000123456789" {
		t.Fatalf("appendMarker = %s", b)
	}
	for _, tc := range []struct {
		text       string
		w, seq, ok int
	}{
		{"w3#17@1732550000123456789", 3, 17, 1},
		{"w3#17@1732550000123456789 xxxx", 3, 17, 1},
		{"f#5@1", -1, 5, 1},
		{"w3#17@", 0, 0, 0},
		{"w3#17@12x", 0, 0, 0},
		{"w3#17@9999999999999999999", 0, 0, 0},
		{"w#1@2", 0, 0, 0},
		{"w1234567890#1@2", 0, 0, 0},
		{"hello", 0, 0, 0},
		{"", 0, 0, 0},
	} {
		w, seq, _, ok := parseMarker([]byte(tc.text))
		if ok != (tc.ok == 1) || ok && (w != tc.w || seq != tc.seq) {
			t.Errorf("parseMarker(%q) = %d, %d, %v", tc.text, w, seq, ok)
		}
	}
}
