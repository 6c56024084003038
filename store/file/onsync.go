package file

import "time"

// timeSync fdatasyncs f, a segment, and tells Options.OnSync how long it
// took: appends overwrite the zeros of a preallocated segment, so its size
// rarely changes, and where it does fdatasync commits the size too. Every fsync of appended records goes through it (Append and Write
// under Always, segment rolls, the Interval loop, syncs before a
// snapshot); Close's last fsync does not.
func (l *Log) timeSync(f osFile) error {
	if l.opts.OnSync == nil {
		return f.Datasync()
	}
	start := time.Now()
	err := f.Datasync()
	l.opts.OnSync(time.Since(start))
	return err
}
