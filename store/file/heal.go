package file

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// HealInterval is how often a log whose appends failed tries to heal.
const HealInterval = 500 * time.Millisecond

const (
	// cutName is the marker, in the log directory, of where the active
	// segment must be cut: written when a failed append could not be cut
	// back at once, removed once it is.
	cutName = "CUT"
	// probeName is the file heal writes and removes to see that the disk
	// takes writes again.
	probeName = "PROBE"
	// probeSize is how many bytes that probe writes.
	probeSize = 64 << 10
)

// Err returns nil while appends work; otherwise why they fail: an error
// wrapping store.ErrUnavailable (a write or fsync failed, and the log is
// healing), or ErrClosed. It does not wait for an Append in progress.
func (l *Log) Err() error {
	if p := l.health.Load(); p != nil {
		return *p
	}
	if l.closed.Load() {
		return ErrClosed
	}
	return nil
}

// setErr records whether appends work and tells Options.OnHealth; l.mu held.
func (l *Log) setErr(err error) {
	l.err = err
	if err == nil {
		l.health.Store(nil)
	} else {
		l.health.Store(&err)
	}
	if l.opts.OnHealth != nil {
		l.opts.OnHealth(err)
	}
}

// fail stops appends after a failed write, fsync or segment roll; l.mu
// held. It clears the batch's seqs and cuts the active segment back to the
// end of the last acknowledged record (its zero tail too: appends
// preallocate again after healing), so that a partly written batch, and
// every batch written and not yet acknowledged (a new generation begins),
// refused to their senders, never come back. If the cut itself, or its
// fsync, fails, it
// records in the CUT marker where to cut, which the heal goroutine and the
// next Open honour. It then starts the heal goroutine.
func (l *Log) fail(batch []*actions.Action, cause error) error {
	clearSeqs(batch)
	l.endGen()
	if l.f != nil {
		// The cut must be on the disk before the batch is refused: an
		// fsync outside l.mu (see syncTo) may have put its bytes there.
		terr := l.f.Truncate(l.size)
		l.allocated = l.size // or less: Write grows it again either way
		if terr == nil {
			terr = l.f.Sync()
		}
		if terr != nil {
			ev := l.log.Error().Err(terr).Str("file", l.f.Name()).Int64("offset", l.size)
			if merr := l.writeCut(); merr != nil {
				ev.AnErr("marker_error", merr).Msg("cannot cut back a failed append, nor record where to cut it: " +
					"if the process stops before the log heals, the refused records may come back")
			} else {
				ev.Msg("cannot cut back a failed append yet; recorded where to cut it in " + cutName)
			}
		}
	}
	err := fmt.Errorf("file: appends stopped until the disk takes writes again (%w): %w", store.ErrUnavailable, cause)
	l.setErr(err)
	l.log.Error().Err(cause).Str("fsync", l.opts.Fsync.String()).Uint64("last_seq", l.next-1).
		Msg("the action log cannot write: appends are refused while it retries in the background")
	if !l.healing {
		l.healing = true
		l.wg.Add(1)
		go l.healLoop()
	}
	return err
}

// endGen cuts off the records written and not acknowledged: a new
// generation of writes begins. It remembers where the old one ended, for
// its batches still waiting in syncTo; l.mu held.
func (l *Log) endGen() {
	if l.genEnds == nil {
		l.genEnds = map[uint64]uint64{}
	}
	l.genEnds[l.gen] = l.next
	delete(l.genEnds, l.gen-keptGens) // a writer never waits on one this old
	l.gen++
	l.pending, l.pendingSize = 0, 0
}

// keptGens is how many ended generations syncTo can tell about: more
// than the batches a writer has between Write and syncTo at a time.
const keptGens = 64

// healLoop tries to heal the log every Options.healEvery until it does,
// it cannot, or Close.
func (l *Log) healLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.healEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		done := l.closed.Load() || l.tryHeal()
		if done {
			l.healing = false
		}
		l.mu.Unlock()
		if done {
			return
		}
	}
}

// tryHeal reopens the active segment, cuts it at the end of the last
// acknowledged record, fsyncs it, and checks that the disk takes writes
// again; then appends resume. l.mu held. It reports whether it is done:
// healed, or found damage it cannot mend (acknowledged bytes missing),
// which keeps appends stopped until a restart recovers what is on disk.
func (l *Log) tryHeal() bool {
	err := l.reopen()
	if err == nil {
		err = l.probe()
	}
	if err == nil && l.cutWritten {
		if err = l.fs.Remove(filepath.Join(l.logDir, cutName)); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err == nil {
			err = syncDir(l.fs, l.logDir)
		}
		l.cutWritten = err != nil
	}
	switch {
	case l.broken != nil:
		l.setErr(fmt.Errorf("file: appends stopped for good (%w): %w", store.ErrUnavailable, l.broken))
		l.log.Error().Err(l.broken).Msg("the action log cannot heal; restart the server to recover what is on disk")
		return true
	case err != nil:
		l.log.Debug().Err(err).Msg("the action log cannot write yet")
		return false
	}
	l.synced = l.next - 1
	l.setErr(nil)
	l.log.Info().Uint64("last_seq", l.next-1).Msg("the action log takes appends again")
	return true
}

// reopen closes the active segment, opens it again, cuts it back to
// l.size (its zero tail too: appends preallocate again) and fsyncs it;
// l.mu held.
func (l *Log) reopen() error {
	if len(l.segs) == 0 {
		return nil
	}
	path := l.segs[len(l.segs)-1].path
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	f, err := l.fs.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < l.size {
		l.broken = fmt.Errorf("%s holds %d bytes, but the acknowledged records end at byte %d", path, fi.Size(), l.size)
		err = l.broken
	}
	if err == nil && fi.Size() > l.size {
		err = f.Truncate(l.size)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.allocated = f, l.size
	return nil
}

// probe writes probeSize bytes to a file, fsyncs and removes it.
func (l *Log) probe() error {
	path := filepath.Join(l.logDir, probeName)
	f, err := l.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := l.fs.Remove(path); err == nil {
		err = rerr
	}
	return err
}

// writeCut records in the CUT marker that the active segment ends at
// l.size; l.mu held.
func (l *Log) writeCut() error {
	line := fmt.Sprintf("%s %d", filepath.Base(l.segs[len(l.segs)-1].path), l.size)
	b := fmt.Appendf(nil, "%s %08x\n", line, crc32.Checksum([]byte(line), castagnoli))
	f, err := l.fs.OpenFile(filepath.Join(l.logDir, cutName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
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
	if err == nil {
		err = syncDir(l.fs, l.logDir)
	}
	l.cutWritten = true // even if incomplete: heal removes it
	return err
}

// readCut returns the segment file name and offset the CUT marker names,
// if there is an intact one.
func (l *Log) readCut() (name string, off int64, ok bool) {
	f, err := l.fs.OpenFile(filepath.Join(l.logDir, cutName), os.O_RDONLY, 0)
	if err != nil {
		return "", 0, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	fields := strings.Fields(string(b))
	if err != nil || len(fields) != 3 {
		l.log.Warn().Str("file", f.Name()).Msg("ignoring a damaged cut marker")
		return "", 0, false
	}
	line := fields[0] + " " + fields[1]
	off, err = strconv.ParseInt(fields[1], 10, 64)
	if err != nil || fields[2] != fmt.Sprintf("%08x", crc32.Checksum([]byte(line), castagnoli)) {
		l.log.Warn().Str("file", f.Name()).Msg("ignoring a damaged cut marker")
		return "", 0, false
	}
	return fields[0], off, true
}
