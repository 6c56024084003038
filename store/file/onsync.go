package file

import "time"

// timeSync fsyncs f, a segment, and tells Options.OnSync how long it
// took. Every fsync of appended records goes through it (Append and Write
// under Always, segment rolls, the Interval loop, syncs before a
// snapshot); Close's last fsync does not.
func (l *Log) timeSync(f osFile) error {
	if l.opts.OnSync == nil {
		return f.Sync()
	}
	start := time.Now()
	err := f.Sync()
	l.opts.OnSync(time.Since(start))
	return err
}
