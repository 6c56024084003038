package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/store"
)

var (
	_ store.Log       = (*Log)(nil)
	_ store.Snapshots = (*Log)(nil)
)

// ErrClosed is returned by every method of a closed Log.
var ErrClosed = errors.New("file: log closed")

// ErrReadOnly is returned by Append and SaveSnapshot on a log opened with
// Options.ReadOnly.
var ErrReadOnly = errors.New("file: log opened read-only")

// ErrSnapshotsOnly is returned by Append on a directory opened with
// Options.SnapshotsOnly.
var ErrSnapshotsOnly = errors.New("file: directory opened for snapshots only")

// Log is the embedded action log: append-only segment files and snapshots
// in one directory. See the package documentation for the format and the
// durability guarantees. All methods are safe for concurrent use.
type Log struct {
	dir, logDir, snapDir string
	opts                 Options
	log                  zerolog.Logger
	fs                   fileSystem // the segments' file system: Options.fs, by default the OS's
	unlock               func()     // releases the directory lock

	// syncMu serializes the fsyncs made outside mu (see syncTo) and the
	// segment rolls, which close the file those fsyncs use. Taken before mu.
	syncMu sync.Mutex

	mu          sync.Mutex        // guards the fields below; held by Append, Write, syncs, rolls and Close
	f           osFile            // the active (last) segment; nil until there is one, or read-only
	size        int64             // bytes in f: the end of the last record acknowledged
	next        uint64            // seq of the next record after the acknowledged ones
	pending     uint64            // records written after those, waiting for an fsync (Write under Always)
	pendingSize int64             // their bytes
	gen         uint64            // generation of writes: fail starts a new one, cutting off the pending records
	genEnds     map[uint64]uint64 // next of ended generations: their records below it were acknowledged
	synced      uint64            // every record up to this seq is on disk
	err         error             // ErrClosed, or the storage failure that stops appends until healed
	broken      error             // a failure healing cannot mend (acknowledged bytes are missing)
	healing     bool              // the heal goroutine runs
	cutWritten  bool              // a CUT marker may exist, for heal to remove
	allocated   int64             // bytes of f written (records, or zeros ahead of them: see grow)
	segs        []segment         // every segment, oldest first
	buf         []byte            // reused for encoding batches

	view   atomic.Pointer[view]  // what Read, LastSeq and FirstSeq see
	health atomic.Pointer[error] // what Err returns while appends fail
	closed atomic.Bool
	retain sync.RWMutex // Read holds it shared; pruning tries it exclusively
	snapMu sync.Mutex   // serializes SaveSnapshot

	stop chan struct{} // closed by Close to stop the Interval sync loop and healing
	wg   sync.WaitGroup
}

// segment is one segment file.
type segment struct {
	first uint64 // seq of its first record, from its name
	path  string
}

// view is an immutable picture of the log after an Append.
type view struct {
	segs []segment
	last uint64 // LastSeq
	end  int64  // bytes of the last segment holding records up to last
}

// Open opens (creating if needed, unless read-only) the log in dir. It
// checks every segment, truncates a torn record at the end of the last
// one (logging a warning), and fails with a *CorruptError on any other
// damage. A directory is used by one writable Log at a time.
func Open(dir string, opts Options) (*Log, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir:     dir,
		logDir:  filepath.Join(dir, "log"),
		snapDir: filepath.Join(dir, "snapshots"),
		opts:    opts,
		log:     opts.Logger,
		fs:      opts.fs,
		unlock:  func() {},
		stop:    make(chan struct{}),
	}
	if !opts.ReadOnly {
		if err := l.prepareDir(); err != nil {
			return nil, err
		}
	}
	if err := l.recover(); err != nil {
		if l.f != nil {
			l.f.Close()
		}
		l.unlock()
		return nil, err
	}
	if opts.Fsync == Interval && !opts.ReadOnly {
		l.wg.Add(1)
		go l.syncLoop(l.stop)
	}
	return l, nil
}

// prepareDir creates the directories, locks dir, and removes snapshots
// that a crash left half written.
func (l *Log) prepareDir() error {
	for _, d := range []string{l.logDir, l.snapDir} {
		if err := l.fs.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("file: %w", err)
		}
	}
	if err := syncDir(l.fs, l.dir); err != nil {
		return err
	}
	unlock, err := lockDir(l.dir)
	if err != nil {
		return err
	}
	l.unlock = unlock
	tmps, _ := filepath.Glob(filepath.Join(l.snapDir, "*.tmp"))
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			l.log.Warn().Err(err).Str("file", t).Msg("cannot remove a half-written snapshot")
		}
	}
	return nil
}

// LastSeq returns the seq of the last record, or 0 for an empty log.
func (l *Log) LastSeq() uint64 { return l.view.Load().last }

// FirstSeq returns the seq of the oldest record held, or 0 for an empty
// log. It grows when Options.Prune removes segments.
func (l *Log) FirstSeq() uint64 {
	v := l.view.Load()
	if len(v.segs) == 0 || v.last < v.segs[0].first {
		return 0
	}
	return v.segs[0].first
}

// publish makes the log's current records visible to readers; l.mu held.
func (l *Log) publish() {
	l.view.Store(&view{segs: l.segs, last: l.next - 1, end: l.size})
}

// Close cuts the active segment's zero tail, fsyncs it, stops the
// background sync, and releases the directory. Later calls of other methods return ErrClosed. Safe to
// call twice.
func (l *Log) Close() error {
	l.syncMu.Lock() // no fsync outside l.mu runs on the file it closes
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return nil
	}
	l.closed.Store(true)
	var err error
	if l.f != nil {
		if end := l.size + l.pendingSize; l.err == nil && l.allocated > end {
			err = l.f.Truncate(end) // a log closed cleanly has no zero tail
		}
		if l.err == nil && err == nil {
			err = l.f.Sync()
		}
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		l.f = nil
	}
	l.err = ErrClosed
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
	l.unlock()
	if err != nil {
		return fmt.Errorf("file: closing the log: %w", err)
	}
	return nil
}

// syncLoop fsyncs the active segment once per syncInterval (Interval).
func (l *Log) syncLoop(stop chan struct{}) {
	defer l.wg.Done()
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.mu.Lock()
			l.syncLocked() // a failure is logged and healed by fail
			l.mu.Unlock()
		}
	}
}

// syncLocked fsyncs the active segment if it holds unsynced records, and
// acknowledges the records written and waiting for a sync; l.mu held. A
// failed fsync stops appends until the log heals (see fail).
func (l *Log) syncLocked() error {
	if l.err != nil || l.f == nil || (l.synced == l.next-1 && l.pending == 0) {
		return nil
	}
	if err := l.timeSync(l.f); err != nil {
		return l.fail(nil, fmt.Errorf("fsync %s: %w", l.f.Name(), err))
	}
	l.next += l.pending
	l.size += l.pendingSize
	l.pending, l.pendingSize = 0, 0
	l.synced = l.next - 1
	l.publish()
	return nil
}
