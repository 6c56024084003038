package file

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/statecast/statecast/actions"
)

// segmentBytes returns a valid segment starting at seq 1 holding n
// messages.
func segmentBytes(n int) []byte {
	b := segmentHeader(1)
	for i := 1; i <= n; i++ {
		a := message(i)
		a.Seq = uint64(i)
		start := len(b)
		b = append(b, make([]byte, recordHeaderSize)...)
		b, _ = actions.AppendBinary(b, a)
		sealRecord(b[start:])
	}
	return b
}

// FuzzRecordReader feeds arbitrary bytes as a segment file to recovery. It
// must never panic, and must either fail or yield valid records: seqs 1,
// 2, … each with a good CRC, and a torn tail only where allowed.
func FuzzRecordReader(f *testing.F) {
	good := segmentBytes(5)
	f.Add(good, true)
	f.Add(good, false)
	f.Add(good[:len(good)-7], true)
	f.Add(good[:30], true)
	f.Add(append(bytes.Clone(good), make([]byte, 40)...), true)
	f.Add(segmentHeader(1)[:9], true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, last bool) {
		var got []*actions.Action
		sc, err := scanSegment("fuzz.seg", bytes.NewReader(data), int64(len(data)), 1, last, false, func(a *actions.Action) {
			got = append(got, a)
		})
		if err != nil {
			var ce *CorruptError
			if errors.As(err, &ce) && (ce.Offset < 0 || ce.Offset > int64(len(data))) {
				t.Fatalf("error at offset %d of %d bytes", ce.Offset, len(data))
			}
			return
		}
		switch {
		case sc.torn != nil && !last:
			t.Fatal("a torn tail accepted in a segment that is not the last")
		case sc.end > int64(len(data)) || sc.end < 0:
			t.Fatalf("good end %d past %d bytes", sc.end, len(data))
		case sc.torn == nil && !allZero(data[sc.end:]):
			t.Fatalf("clean scan ended at %d of %d bytes", sc.end, len(data))
		case sc.next != uint64(len(got))+1:
			t.Fatalf("next seq %d after %d records", sc.next, len(got))
		}
		for i, a := range got {
			if a.Seq != uint64(i+1) {
				t.Fatalf("record %d has seq %d", i, a.Seq)
			}
		}
		if sc.end < segmentHeaderSize {
			return
		}
		// What recovery keeps must read back the same, record by record.
		rr := newRecordReader(bytes.NewReader(data[segmentHeaderSize:sc.end]), segmentHeaderSize, make([]byte, 64))
		for i := 0; ; i++ {
			payload, _, err := rr.next()
			if err == io.EOF {
				if i != len(got) {
					t.Fatalf("re-reading found %d records, recovery %d", i, len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("re-reading what recovery kept: %v", err)
			}
			a, err := actions.DecodeBinary(payload)
			if err != nil || i >= len(got) || a.Seq != got[i].Seq || a.ID != got[i].ID {
				t.Fatalf("re-reading record %d: %v", i, err)
			}
		}
	})
}
