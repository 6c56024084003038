package inspect

import (
	"encoding/binary"

	"github.com/statecast/statecast/actions"
)

// block holds the records of one checkpoint's seqs, (k*checkpointEvery,
// (k+1)*checkpointEvery], in their binary encoding (actions.AppendBinary),
// each after its length: a fold from a checkpoint reads them from memory
// instead of scanning the log's segment from its start. About 100 bytes
// an action.
type block struct {
	data []byte
	n    int // records held, from the block's first seq
}

// addRecord keeps a's encoding; called by add, under x.mu.
func (x *index) addRecord(a *actions.Action) {
	k := int((a.Seq - 1) / checkpointEvery)
	for len(x.blocks) <= k {
		x.blocks = append(x.blocks, nil)
	}
	b := x.blocks[k]
	first := uint64(k)*checkpointEvery + 1
	if b == nil {
		if a.Seq != first {
			return // the fold began inside this block: read it from the log
		}
		b = &block{}
		x.blocks[k] = b
	}
	if a.Seq != first+uint64(b.n) {
		return
	}
	rec, err := actions.AppendBinary(nil, a)
	if err != nil {
		return
	}
	b.data = binary.AppendUvarint(b.data, uint64(len(rec)))
	b.data = append(b.data, rec...)
	b.n++
}

// records calls fn with the actions after seq from up to seq to, from
// memory, and reports false, having called fn never, if memory does not
// hold them all.
func (x *index) records(from, to uint64, fn func(*actions.Action) error) (bool, error) {
	return x.scan(from+1, to, fn)
}

// scan calls fn with the actions lo to hi, from memory, and reports false,
// having called fn never, if memory does not hold them all. An error from
// fn stops it and is returned.
func (x *index) scan(lo, hi uint64, fn func(*actions.Action) error) (bool, error) {
	if hi < lo {
		return true, nil
	}
	if lo == 0 {
		lo = 1
	}
	kLo, kHi := int((lo-1)/checkpointEvery), int((hi-1)/checkpointEvery)
	x.mu.RLock()
	if kHi >= len(x.blocks) {
		x.mu.RUnlock()
		return false, nil
	}
	bs := make([]block, 0, kHi-kLo+1)
	for k := kLo; k <= kHi; k++ {
		if x.blocks[k] == nil {
			x.mu.RUnlock()
			return false, nil
		}
		bs = append(bs, *x.blocks[k])
	}
	x.mu.RUnlock()
	if uint64(kHi)*checkpointEvery+uint64(bs[len(bs)-1].n) < hi {
		return false, nil
	}
	seq := uint64(kLo)*checkpointEvery + 1
	for _, b := range bs {
		data := b.data
		for i := 0; i < b.n && seq <= hi; i, seq = i+1, seq+1 {
			n, w := binary.Uvarint(data)
			rec := data[w : w+int(n)]
			data = data[w+int(n):]
			if seq < lo {
				continue
			}
			a, err := actions.DecodeBinary(rec)
			if err != nil {
				return true, err
			}
			if err := fn(a); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}
