package file

import "time"

// syncSegment fsyncs the active segment and tells Options.OnSync how long
// it took; l.mu held. Every fsync of appended records goes through it
// (Append under Always, segment rolls, the Interval loop, syncs before a
// snapshot); Close's last fsync does not.
func (l *Log) syncSegment() error {
	if l.opts.OnSync == nil {
		return l.f.Sync()
	}
	start := time.Now()
	err := l.f.Sync()
	l.opts.OnSync(time.Since(start))
	return err
}
