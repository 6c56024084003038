package middleware_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

func TestStamp(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.FixedZone("X", 3600))
	mw := middleware.Stamp(func() time.Time { return at })

	a := &actions.Action{Type: "x"}
	if _, err := through(mw, a); err != nil {
		t.Fatal(err)
	}
	if !a.At.Equal(at) || a.At.Location() != time.UTC {
		t.Errorf("At = %v, want %v in UTC", a.At, at)
	}
	id, err := uuid.Parse(a.ID)
	if err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 || id.String() != a.ID {
		t.Errorf("ID = %q, want a UUIDv7 in canonical form (%v)", a.ID, err)
	}
	if ms := int64(binary.BigEndian.Uint64(id[0:8]) >> 16); ms != at.UnixMilli() {
		t.Errorf("ID = %q holds the time %d ms, want %d", a.ID, ms, at.UnixMilli())
	}

	b := &actions.Action{Type: "x"}
	through(mw, b)
	if a.ID == b.ID {
		t.Error("two actions got the same id")
	}

	kept := &actions.Action{Type: "x", ID: "given", At: at.Add(time.Hour)}
	through(mw, kept)
	if kept.ID != "given" || !kept.At.Equal(at.Add(time.Hour)) {
		t.Errorf("stamp overwrote fields already set: %+v", kept)
	}
}
