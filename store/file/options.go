package file

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Fsync says when appended records are forced from the page cache to disk.
type Fsync int

const (
	// Always makes every Append durable before it returns: one write and
	// one fsync per batch, so one fsync covers every action that arrived
	// while the previous one ran (group commit). A power loss loses nothing
	// that was acknowledged. The default.
	Always Fsync = iota
	// Interval fsyncs in the background once a second. Append returns once
	// the batch is written to the operating system. A process crash loses
	// nothing; a power loss or kernel crash can lose about the last second
	// of acknowledged actions.
	Interval
	// Off never fsyncs appends (only segment rolls, snapshots and Close
	// do) and leaves write-back to the operating system. A process crash
	// loses nothing; a power loss can lose everything the kernel had not
	// yet written back, typically up to 30 seconds on Linux.
	Off
)

// syncInterval is how often Interval fsyncs.
const syncInterval = time.Second

// String returns "always", "interval" or "off".
func (f Fsync) String() string {
	switch f {
	case Always:
		return "always"
	case Interval:
		return "interval"
	case Off:
		return "off"
	}
	return fmt.Sprintf("Fsync(%d)", int(f))
}

// ParseFsync returns the Fsync named s: "always", "interval" or "off".
func ParseFsync(s string) (Fsync, error) {
	for _, f := range []Fsync{Always, Interval, Off} {
		if f.String() == s {
			return f, nil
		}
	}
	return Always, fmt.Errorf("file: unknown fsync policy %q (want always, interval or off)", s)
}

// DefaultSegmentSize is the size after which the log starts a new segment.
const DefaultSegmentSize = 64 << 20

// DefaultKeepSnapshots is how many snapshots SaveSnapshot keeps.
const DefaultKeepSnapshots = 3

// Options configure a Log. The zero value is a durable log that keeps
// every record.
type Options struct {
	// Fsync says when appends reach the disk. Defaults to Always.
	Fsync Fsync
	// SegmentSize is the size in bytes after which Append starts a new
	// segment file (a segment may exceed it by one batch). The last
	// segment holds up to 1 MiB of zeros ahead of its records, never
	// beyond SegmentSize (see Layout). Defaults to DefaultSegmentSize.
	SegmentSize int64
	// ReadOnly opens the directory without ever writing to it, so that a
	// tool can read the data directory of a running server: Open neither
	// creates, truncates nor removes anything, a torn record at the end is
	// not an error (reading stops before it), and Append and SaveSnapshot
	// fail. Records appended after Open are not seen. Defaults to false.
	ReadOnly bool
	// SnapshotsOnly keeps only snapshots in the directory, of a log kept
	// elsewhere (a cluster's shared stream): SaveSnapshot takes any seq, as
	// the other log has it, and Append fails. Defaults to false.
	SnapshotsOnly bool
	// Prune lets SaveSnapshot remove segments whose records all precede
	// the oldest snapshot kept, so that the log stays bounded; FirstSeq
	// then grows. Pruning follows the oldest kept snapshot, not the
	// newest, so recovery can still fall back to any snapshot kept.
	// Defaults to false: every record is kept forever.
	Prune bool
	// KeepSnapshots is how many of the newest snapshots SaveSnapshot
	// keeps; older ones are removed. Defaults to DefaultKeepSnapshots.
	KeepSnapshots int
	// Logger receives warnings (a torn tail truncated, a damaged snapshot
	// skipped) and background errors. Defaults to none.
	Logger zerolog.Logger
	// OnSync, when set, is called after every fsync or fdatasync of a
	// segment (under Always, one per Append) with how long it took, for metrics. It runs
	// with the log's lock held: it must return quickly and must not call
	// the Log. Defaults to none.
	OnSync func(took time.Duration)
	// OnHealth, when set, is called when appends start failing (with the
	// reason, as Err returns it) and when they work again (with nil). Like
	// OnSync it runs with the log's lock held: it must return quickly and
	// must not call the Log. Defaults to none.
	OnHealth func(err error)

	fs        fileSystem    // the segments' file system; nil is the operating system's (tests inject faults)
	healEvery time.Duration // how often a stopped log tries to heal; 0 is HealInterval
	noWriter  bool          // read-only, with the directory locked: no append can be in progress
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Fsync < Always || o.Fsync > Off:
		return o, fmt.Errorf("file: invalid fsync policy %d", int(o.Fsync))
	case o.SegmentSize < 0:
		return o, errors.New("file: negative SegmentSize")
	case o.KeepSnapshots < 0:
		return o, errors.New("file: negative KeepSnapshots")
	case o.SnapshotsOnly && o.Prune:
		return o, errors.New("file: a directory of snapshots only has no segments to prune")
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.KeepSnapshots == 0 {
		o.KeepSnapshots = DefaultKeepSnapshots
	}
	if o.fs == nil {
		o.fs = osFS{}
	}
	if o.healEvery <= 0 {
		o.healEvery = HealInterval
	}
	return o, nil
}
