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
// hold them all. from must be a checkpoint's seq.
func (x *index) records(from, to uint64, fn func(*actions.Action) error) (bool, error) {
	if to <= from {
		return true, nil
	}
	x.mu.RLock()
	k := int(from / checkpointEvery)
	var b block
	if k < len(x.blocks) && x.blocks[k] != nil {
		b = *x.blocks[k]
	}
	x.mu.RUnlock()
	first := uint64(k)*checkpointEvery + 1
	if from%checkpointEvery != 0 || b.n == 0 || first+uint64(b.n)-1 < to {
		return false, nil
	}
	data := b.data
	for seq := first; seq <= to; seq++ {
		n, w := binary.Uvarint(data)
		a, err := actions.DecodeBinary(data[w : w+int(n)])
		if err != nil {
			return true, err
		}
		data = data[w+int(n):]
		if err := fn(a); err != nil {
			return true, err
		}
	}
	return true, nil
}
