// Package file is statecast's embedded action log: a store.Log and
// store.Snapshots kept in one directory of append-only files.
//
//	l, err := file.Open("data", file.Options{})
//	s, err := store.Open(ctx, initial, reduce, store.Options[S]{Log: l, Snapshots: l, Codec: codec})
//
// # Layout
//
//	DIR/FORMAT                                 "statecast data format 2": the directory's format version
//	DIR/LOCK                                   flock'ed by the one writable Log
//	DIR/log/<first seq, 20 digits>.seg         segments, oldest first
//	DIR/snapshots/<seq, 20 digits>.snap        snapshots (the newest few)
//	DIR/snapshots/<seq>.<random>.tmp           a snapshot being written
//	DIR/log/CUT                                where to cut a failed append (rarely; see Storage failures)
//	DIR/log/PROBE                              written and removed while the log heals
//	DIR/repair-<time>/                         what Repair cut
//
// Only the last segment is ever written to; Append starts a new one once
// the last has reached Options.SegmentSize.
//
// The last segment is preallocated ahead of its records: an append that
// would run past the zero bytes written so far first writes 1 MiB more
// (up to Options.SegmentSize), really written (not a sparse file, nor
// fallocate's unwritten extents, whose first write is a metadata change
// again). Appends then overwrite those zeros, so the file's size and
// extents change once per MiB of records, not with each append. The zero
// bytes after the last record are the segment's zero tail. Before the
// next segment starts, the finished one is cut to the end of its last
// record and fsynced, so only the last segment has a zero tail, and Close
// cuts that too: a log closed cleanly has none. Zeros
// that cannot be written (a full disk) fail the append as a failed write
// of its records does (see Storage failures).
//
// # Segment format (version 1)
//
// All integers are little-endian. A segment starts with a 24-byte header:
//
//	magic "SCASTLOG" (8 bytes) | format version uint32 (1) | first seq uint64 | CRC-32C of the previous 20 bytes
//
// followed by records, back to back:
//
//	length uint32 | CRC-32C uint32 | payload (length bytes)
//
// and, in the last segment only, by its zero tail: zero bytes to the end
// of the file, where a length field would be.
//
// The payload is the action in the form of actions.AppendBinary, which
// starts with its seq. The CRC (Castagnoli polynomial) covers the length
// field and the payload. A length of 0 or above MaxRecordSize is invalid.
// The seq of every record is one more than the one before, across
// segments too; a segment's name and header give the seq of its first
// record, so a segment may be empty (header only).
//
// A reader that meets a newer version in an intact header refuses the
// segment with a *FormatError (see Format versions): a new version means a
// new header version, never a silent change of the record layout. Changes
// to the action's binary form that actions.DecodeBinary reads back
// compatibly need no new version.
//
// # Snapshot format (version 1)
//
//	magic "SCASTSNP" (8) | version uint32 (1) | seq uint64 | data length uint64 | CRC-32C uint32 | data
//
// where the CRC covers the 28 header bytes before it and the data. An
// intact snapshot of a newer version fails LatestSnapshot with a
// *FormatError rather than being skipped: folding from an older one would
// hide the newer program's state.
//
// # Format versions
//
// DIR/FORMAT names the version of the directory as a whole (FormatVersion);
// segments and snapshots carry versions of their own in their headers,
// which change only when their layouts do. Version 1 is a directory
// without FORMAT (statecast before the file existed); version 2 adds the
// file and changes nothing else, so both read alike. Open reads a
// directory of any version up to FormatVersion and, unless read-only,
// writes FORMAT where it is missing (logging the upgrade of one that held
// data). A newer version, in FORMAT or in a segment's intact header, fails
// Open with a *FormatError naming both versions, and leaves the segments
// and snapshots as they are: a newer statecast wrote the directory, and
// this one must not guess at it.
//
// # Durability
//
// Append writes a whole batch with one write call, at the end of the last
// record. With Fsync Always (the default) it then syncs the segment once
// with fdatasync, so a batch is on disk before Append returns and the
// store makes it visible: group commit, one sync for every action that
// arrived while the previous sync ran. In a preallocated segment an
// append changes neither the size nor the extents of the file, so that
// fdatasync writes its data and no file-system metadata (on ext4, no
// journal commit); where an append does extend the file, fdatasync
// commits the new size too. Every other sync of a segment is a full
// fsync. The sync after an append that wrote zeros ahead flushes them
// too (at most 1 MiB). Creating a segment fsyncs the new file and the
// directory; the finished segment is fsynced and cut to its records
// before the next starts, whatever the policy. Removing files fsyncs the directory too.
//
// With Fsync Interval a background goroutine fsyncs once a second; a power
// loss or kernel crash can lose the actions of about the last second,
// though each was acknowledged. With Fsync Off appends are never fsynced
// (segment rolls, snapshots and Close still fsync); a power loss can lose
// whatever the kernel had not yet written back (on Linux, by default, up
// to about 30 seconds). Under every policy a crash of the process alone
// loses nothing that Append acknowledged: the data is in the page cache.
// Recovery never yields a record without every record before it. A power
// loss can, rarely, persist the later pages of an unsynced write but not
// the earlier ones: a hole followed by intact records. Recovery cannot
// tell that from disk damage, so Open fails as described below; under
// Always the records from the hole on were never acknowledged, and
// truncating at the offset named loses nothing that was.
//
// # Storage failures
//
// A failed write, fsync or segment roll (a full disk, EIO, EDQUOT) fails
// its batch with an error wrapping store.ErrUnavailable, which reaches
// clients as the retryable wire error `unavailable`, and stops appends:
// Err then returns the reason (a server reports it at /readyz) and
// Options.OnHealth hears of it. The batch is cut off the segment at once,
// back to the end of the last acknowledged record, zero tail included;
// if even that truncate
// fails, a CUT marker in the log directory records where to cut, and both
// healing and the next Open cut there, so that a refused batch never comes
// back. (Only if the marker cannot be written either, and the process
// stops before the log heals, can those records reappear; an error line
// says so.)
//
// The log then heals in the background, every HealInterval: it reopens
// the active segment, cuts it at the last acknowledged offset, fsyncs it,
// and writes, fsyncs and removes a 64 KiB probe file; once all that works,
// appends resume without a restart, preallocating the segment again as
// they go. The log heals rather than exit, so
// that a full disk emptied by an operator, or an I/O hiccup, needs no
// restart, and readers and sockets stay up meanwhile. If the segment has
// lost acknowledged bytes, healing stops, and a restart recovers what is
// on disk. Under Interval and Off, a failed fsync may have lost the
// records acknowledged since the last good one, as a power loss would.
//
// The tests drive the log through a file system that injects write,
// fsync and truncate errors, short writes, a crash at every step and the
// loss of every unsynced byte, and check over many seeds that under
// Always no subscriber of a store on the log sees an action before it is
// on disk, and that under every policy recovery yields a prefix of the
// acknowledged actions that keeps everything the policy promised.
//
// SaveSnapshot first fsyncs the log up to the snapshot's seq, so a
// snapshot is never ahead of the durable log, then writes a temporary
// file, fsyncs it, renames it into place and fsyncs the directory.
//
// # Recovery
//
// Open reads every segment and checks the header, every record's CRC, that
// every record decodes and that seqs are consecutive. The records of the
// last segment end where only zero bytes follow to the end of the file:
// its zero tail (preallocated, or where the file system extended the file
// but never wrote it), which is neither reported nor cut, so the next
// append overwrites it. A zero tail in a segment that is not the last is
// damage. A record cut off by a crash at the end of the last segment (an
// incomplete length, CRC or payload running to the end of the file, a
// complete record whose bytes from a page boundary (4096 bytes) inside it
// on are zero to the end of the file: pages never written, or an
// incomplete header of a just created segment) is a torn tail: it is
// truncated, with the zero tail after it (appends preallocate the segment
// again), and a warning names the file, the offset and the
// number of bytes dropped, zeros included. Under Fsync Always such a
// record was never acknowledged. An incomplete or such a zero-ended
// record whose seq is not the next one, that is followed by an intact
// record, or whose bytes up to the zero tail or the end of the file hold
// a valid CRC for their true length (its length field is damaged), is not
// a torn append and fails Open. The page rule assumes what the disk
// keeps of an overwrite interrupted by a crash is whole pages: new ones up
// to a point, old ones after it.
//
// A complete record whose CRC fails, anywhere, the last one included, and
// damage anywhere else fail Open with a *CorruptError that names the file,
// the byte offset and the seq expected there, and names the repair
// command: `statecast repair -data DIR` (Repair) cuts the log there after
// asking, keeps a copy of what it cuts (and of the snapshots past the cut)
// in DIR/repair-<time>, and reports the seqs lost; or by hand, restore the
// file from a backup or truncate it at that offset. Either loses the
// actions after the last good seq. Nothing acknowledged is dropped
// silently.
//
// With Options.ReadOnly (for reading the directory of a running server)
// Open never writes: it stops before a torn tail instead of truncating it,
// and at the zero tail as a writable Open does. As a running server copies
// each append into the zero tail, a read-only Open also stops before a
// damaged last record that is an append in progress: one that is intact
// when read again, or that only zero bytes follow with no intact record
// before them, torn at any byte. (A writable Open and Repair hold the
// lock, so no append can be in progress, and take such a record for
// damage unless it is torn at a page boundary as above.) Read, on a writable or a
// read-only log, reads the last segment only up to the end of the last
// record it acknowledged, never into the zero tail.
//
// # Retention
//
// SaveSnapshot keeps the newest Options.KeepSnapshots snapshots. With
// Options.Prune it also removes the segments whose records all precede the
// oldest snapshot kept (never the segment holding the last record), so
// FirstSeq grows; without it the log keeps every record. LatestSnapshot
// returns the newest intact snapshot and skips a damaged one with a
// warning.
package file
