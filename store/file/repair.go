package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Cut is what Repair cuts from a damaged log.
type Cut struct {
	// Damage is the first damage in the log, as Open reports it.
	Damage *CorruptError
	// Files are the files cut or moved: Damage.File (cut at
	// Damage.Offset, or moved whole if the damage is in its header), the
	// segments after it, and the snapshots of seqs after the cut.
	Files []string
	// Bytes is how many bytes of the log are cut.
	Bytes int64
	// FirstLost is the first seq lost: Damage.LastGoodSeq+1. LastLost is
	// the highest seq of an intact record in what is cut (FirstLost-1 when
	// none is): damaged records may have held more.
	FirstLost, LastLost uint64
	// Backup is the directory, inside the data directory, that keeps a
	// copy of everything cut.
	Backup string
}

// Repair finds the first damage in the log in dir and, if confirm agrees,
// cuts the log there: it copies the damaged segment's bytes from the
// damage on, the later segments and the snapshots of seqs after the cut
// into a new directory repair-<time> in dir, then truncates (or removes)
// the damaged segment and removes those files. It returns nil when the
// log has no damage (a torn tail is no damage: Open cuts it), and the Cut
// with an empty Backup when confirm declined. It holds the directory's
// lock, so no server may be running on dir.
func Repair(dir string, confirm func(*Cut) bool) (*Cut, error) {
	if _, err := os.Stat(filepath.Join(dir, "log")); err != nil {
		return nil, fmt.Errorf("file: %s holds no log: %w", dir, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	l, err := Open(dir, Options{ReadOnly: true, noWriter: true})
	var ce *CorruptError
	if err == nil {
		return nil, l.Close()
	} else if !errors.As(err, &ce) {
		return nil, err
	}
	c, err := planCut(dir, ce)
	if err != nil || !confirm(c) {
		return c, err
	}
	return c, c.apply(dir)
}

// planCut lists what cutting at ce drops.
func planCut(dir string, ce *CorruptError) (*Cut, error) {
	c := &Cut{Damage: ce, FirstLost: ce.LastGoodSeq + 1, LastLost: ce.LastGoodSeq}
	cut := []string{ce.File}
	cut = append(cut, ce.Later...)
	for i, path := range cut {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("file: %w", err)
		}
		from := int64(0)
		if i == 0 {
			from = min(ce.Offset, int64(len(b)))
		}
		c.Bytes += int64(len(b)) - from
		c.LastLost = max(c.LastLost, lastIntactSeq(b[from:]))
	}
	c.Files = cut
	seqs, err := listSnapshots(filepath.Join(dir, "snapshots"))
	if err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		if seq > ce.LastGoodSeq {
			c.Files = append(c.Files, filepath.Join(dir, "snapshots", snapshotName(seq)))
		}
	}
	return c, nil
}

// lastIntactSeq returns the highest seq of a record with a valid CRC that
// starts anywhere in b, or 0.
func lastIntactSeq(b []byte) uint64 {
	var last uint64
	for i := 0; i+recordHeaderSize < len(b); i++ {
		n := int(binary.LittleEndian.Uint32(b[i:]))
		if n == 0 || n > len(b)-i-recordHeaderSize {
			continue
		}
		rec := b[i : i+recordHeaderSize+n]
		if recordCRC(rec[:4], rec[recordHeaderSize:]) != binary.LittleEndian.Uint32(rec[4:]) {
			continue
		}
		if v, k := binary.Uvarint(rec[recordHeaderSize:]); k > 0 {
			last = max(last, v)
		}
		i += recordHeaderSize + n - 1
	}
	return last
}

// apply keeps copies of what c cuts in c.Backup, then cuts: snapshots
// first, then segments newest first, so that a crash midway leaves a log
// that is still a prefix, and running Repair again finishes the job.
func (c *Cut) apply(dir string) error {
	c.Backup = filepath.Join(dir, "repair-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(c.Backup, 0o755); err != nil {
		return fmt.Errorf("file: %w", err)
	}
	ce := c.Damage
	whole := ce.Offset < segmentHeaderSize
	if !whole {
		b, err := os.ReadFile(ce.File)
		if err == nil {
			name := filepath.Join(c.Backup, fmt.Sprintf("%s.from-%d", filepath.Base(ce.File), ce.Offset))
			err = writeSynced(name, b[min(ce.Offset, int64(len(b))):])
		}
		if err != nil {
			return fmt.Errorf("file: keeping a copy of what is cut: %w", err)
		}
	}
	moves := slices.Clone(c.Files[1:])
	slices.Reverse(moves) // snapshots, then the newest segment first
	if whole {
		moves = append(moves, ce.File)
	}
	for _, path := range moves {
		if err := os.Rename(path, filepath.Join(c.Backup, filepath.Base(path))); err != nil {
			return fmt.Errorf("file: %w", err)
		}
	}
	if !whole {
		if err := os.Truncate(ce.File, ce.Offset); err != nil {
			return fmt.Errorf("file: %w", err)
		}
		f, err := os.OpenFile(ce.File, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("file: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("file: %w", err)
		}
	}
	for _, d := range []string{c.Backup, filepath.Join(dir, "log"), filepath.Join(dir, "snapshots")} {
		if _, err := os.Stat(d); err != nil {
			continue // no snapshots directory
		}
		if err := syncDir(osFS{}, d); err != nil {
			return err
		}
	}
	return nil
}

// writeSynced writes b to a new file at name and fsyncs it.
func writeSynced(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
