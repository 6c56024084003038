package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// spanLog is a Log that holds the records first..last; Start reads only
// those bounds.
type spanLog struct{ first, last uint64 }

func (l spanLog) Append(context.Context, []*actions.Action) error { return errors.New("read-only") }
func (l spanLog) LastSeq() uint64                                 { return l.last }
func (l spanLog) FirstSeq() uint64                                { return l.first }
func (l spanLog) Close() error                                    { return nil }
func (l spanLog) Read(context.Context, uint64, func(*actions.Action) error) error {
	return errors.New("not read")
}

// snaps holds snapshots "state <seq>" by seq; seqs it lists may be gone
// (removed after listing) or damaged.
type snaps struct {
	seqs    []uint64
	gone    map[uint64]bool
	damaged map[uint64]bool
}

func (s snaps) SaveSnapshot(uint64, []byte) error { return errors.New("read-only") }
func (s snaps) LatestSnapshot() (uint64, []byte, error) {
	if len(s.seqs) == 0 {
		return 0, nil, nil
	}
	seq := s.seqs[len(s.seqs)-1]
	data, err := s.ReadSnapshot(seq)
	return seq, data, err
}
func (s snaps) SnapshotSeqs() ([]uint64, error) { return s.seqs, nil }
func (s snaps) ReadSnapshot(seq uint64) ([]byte, error) {
	if s.gone[seq] || !slices.Contains(s.seqs, seq) {
		return nil, fs.ErrNotExist
	}
	if s.damaged[seq] {
		return []byte("garbage"), nil
	}
	return []byte(fmt.Sprint("state ", seq)), nil
}

// latestOnly hides SnapshotSeqs and ReadSnapshot: Snapshots, not a lister.
type latestOnly struct{ store.Snapshots }

// seqCodec decodes "state <seq>" as the seq.
type seqCodec struct{}

func (seqCodec) Encode(n uint64) ([]byte, error) { return []byte(fmt.Sprint("state ", n)), nil }
func (seqCodec) Decode(b []byte) (uint64, error) {
	return strconv.ParseUint(strings.TrimPrefix(string(b), "state "), 10, 64)
}

func TestStart(t *testing.T) {
	t.Parallel()
	const initial = 999 // the state before seq 1
	tens := snaps{seqs: []uint64{10, 20}}
	for _, tc := range []struct {
		name    string
		log     store.Log
		snaps   store.Snapshots
		seq     uint64
		want    uint64 // the seq of the start; its state is the seq, or initial at 0
		wantErr string
	}{
		{"the newest snapshot", spanLog{1, 30}, tens, store.Newest, 20, ""},
		{"the newest, not a lister", spanLog{1, 30}, latestOnly{tens}, store.Newest, 20, ""},
		{"no snapshots", spanLog{1, 30}, nil, store.Newest, 0, ""},
		{"no log", nil, tens, store.Newest, 20, ""},
		{"the newest at or before a seq", spanLog{1, 30}, tens, 15, 10, ""},
		{"a snapshot at the seq", spanLog{1, 30}, tens, 20, 20, ""},
		{"the whole log from seq 0", spanLog{1, 30}, tens, 0, 0, ""},
		{"an empty log", spanLog{0, 0}, nil, 0, 0, ""},
		{"a pruned log: the oldest snapshot it continues", spanLog{15, 30}, tens, 0, 20, ""},
		{"a pruned log, the snapshot before it removed meanwhile", spanLog{15, 30}, snaps{seqs: []uint64{10, 20, 25}, gone: map[uint64]bool{20: true}}, 0, 25, ""},
		{"a pruned log continuing the snapshot at or before the seq", spanLog{11, 30}, tens, 15, 10, ""},
		{"a removed snapshot: the one before", spanLog{1, 30}, snaps{seqs: []uint64{10, 20}, gone: map[uint64]bool{20: true}}, 25, 10, ""},
		{"a snapshot newer than the log", spanLog{1, 15}, tens, store.Newest, 0, "store: the snapshot at seq 20 is newer than the log's last record 15"},
		{"a pruned log and no snapshot it continues", spanLog{25, 30}, tens, 0, 0, "store: the log starts at seq 25 and no snapshot holds the state before it"},
		{"the store never folds from an older snapshot", spanLog{25, 30}, tens, store.Newest, 0, "store: the log starts at seq 25 and no snapshot holds the state before it"},
		{"a damaged snapshot", spanLog{1, 30}, snaps{seqs: []uint64{10, 20}, damaged: map[uint64]bool{20: true}}, store.Newest, 0, "store: decoding the snapshot at seq 20: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var codec store.Codec[uint64]
			if tc.snaps != nil {
				codec = seqCodec{}
			}
			state, seq, err := store.Start(tc.log, tc.snaps, codec, initial, tc.seq)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || state != initial || seq != 0 {
					t.Fatalf("Start = %d, %d, %v; want the error %q", state, seq, err, tc.wantErr)
				}
				return
			}
			want := tc.want
			if want == 0 {
				want = initial
			}
			if err != nil || seq != tc.want || state != want {
				t.Fatalf("Start = %d, %d, %v; want %d, %d", state, seq, err, want, tc.want)
			}
		})
	}
}
