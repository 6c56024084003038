package middleware

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// Stamp gives each action its ID (a UUIDv7 of its time) and its time At,
// unless they are set already: the clock and the ids enter the state here,
// as action fields, so that reducers stay pure and replays exact.
// now is the clock; nil means time.Now. Put it right after Recover.
func Stamp(now func() time.Time) store.Middleware {
	if now == nil {
		now = time.Now
	}
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			if a.At.IsZero() {
				a.At = now().UTC()
			}
			if a.ID == "" {
				a.ID = newID(a.At)
			}
			return next(ctx, a)
		}
	}
}

// newID returns a UUIDv7 (RFC 9562) whose timestamp is at, in milliseconds,
// and whose other 74 bits are random, in the canonical form (lower-case
// hex, 8-4-4-4-12). It reads no clock of its own (the action's time is
// already read, and a clock read is not free) and takes no lock: ids need to
// be unique, and 74 random bits per millisecond make a collision as likely
// as none in practice; they need not be strictly ordered within a
// millisecond. It formats the id itself: uuid.UUID.String's five calls to
// hex.Encode cost more than the rest of the id.
func newID(at time.Time) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], uint64(at.UnixMilli())<<16)
	binary.BigEndian.PutUint64(u[8:16], rand.Uint64())
	r := rand.Uint32()
	u[6], u[7] = 0x70|byte(r>>8)&0x0f, byte(r) // version 7, 12 random bits
	u[8] = 0x80 | u[8]&0x3f                    // variant 10, then 62 random bits
	buf := [36]byte{8: '-', 13: '-', 18: '-', 23: '-'}
	for i, b := range u {
		at := idDigits[i]
		buf[at], buf[at+1] = hexDigits[b>>4], hexDigits[b&0x0f]
	}
	return string(buf[:])
}

const hexDigits = "0123456789abcdef"

// idDigits is where the two hex digits of each byte of a UUID go in its
// canonical form.
var idDigits = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}
