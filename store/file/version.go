package file

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FormatVersion is the version of the data directory format this package
// writes, named in DIR/FORMAT; doc.go describes the versions.
const FormatVersion = 2

const (
	formatFile   = "FORMAT"
	formatPrefix = "statecast data format "
)

// A FormatError says that the data directory, or a file in it, is in a
// format newer than this program reads: a newer statecast wrote it.
// Nothing is read or changed; run the newer statecast again, or restore a
// backup made by this version.
type FormatError struct {
	// File is the file that names the version: DIR/FORMAT, a segment or a
	// snapshot.
	File string
	// Version is the version found; Known is the newest this program reads.
	Version, Known uint32
}

// Error names both versions and says what to do.
func (e *FormatError) Error() string {
	return fmt.Sprintf("file: %s is in format version %d, but this statecast reads versions up to %d: "+
		"a newer statecast wrote it; run that version (or a later one), or restore a backup made by this one",
		e.File, e.Version, e.Known)
}

// checkFormat reads the directory's format version and refuses a newer
// one, or a segment whose header names a newer version. A directory
// without a FORMAT file is version 1 if it holds data (the layout before
// the file existed, which version 2 keeps unchanged), else new. Unless
// read-only, it then writes FORMAT for FormatVersion, which versions 1 and
// 2 read alike. (Snapshots are checked as they are read: see
// LatestSnapshot.)
func (l *Log) checkFormat() error {
	path := filepath.Join(l.dir, formatFile)
	b, err := os.ReadFile(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return fmt.Errorf("file: %w", err)
	}
	if !missing {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), formatPrefix), 10, 32)
		if err != nil || !strings.HasPrefix(string(b), formatPrefix) || v == 0 {
			return fmt.Errorf("file: %s does not name a format version (%q); it should read %q",
				path, strings.TrimSpace(string(b)), formatPrefix+strconv.Itoa(FormatVersion))
		}
		if v > FormatVersion {
			return &FormatError{File: path, Version: uint32(v), Known: FormatVersion}
		}
	}
	segs, _ := listSegmentsIn(l.fs, l.logDir) // an error is the scan's to report
	for _, seg := range segs {
		if err := newerSegment(l.fs, seg.path); err != nil {
			return err
		}
	}
	if !missing || l.opts.ReadOnly {
		return nil
	}
	return l.markFormat(path, len(segs) > 0)
}

// markFormat writes the FORMAT file of a directory that has none (and
// logs the upgrade of one that holds data): a temporary file, fsynced, renamed into place, then the
// directory fsynced.
func (l *Log) markFormat(path string, hasSegments bool) error {
	snaps, _ := listSnapshots(l.snapDir)
	tmp := path + ".tmp"
	err := os.WriteFile(tmp, []byte(formatPrefix+strconv.Itoa(FormatVersion)+"\n"), 0o644)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncFile(l.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("file: writing the format version: %w", err)
	}
	if hasSegments || len(snaps) > 0 {
		l.log.Info().Str("file", path).Int("from", 1).Int("to", FormatVersion).
			Msg("data directory format upgraded: its version is now written in FORMAT; nothing else changed")
	}
	return nil
}

// syncFile fsyncs the file or directory at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// newerSegment returns a *FormatError if the segment at path has an
// intact header (its magic and CRC right) that names a version newer than
// segmentVersion, else nil: damage is left to the scan.
func newerSegment(fsys fileSystem, path string) error {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := make([]byte, segmentHeaderSize)
	if _, err := io.ReadFull(f, h); err != nil || string(h[:8]) != segmentMagic ||
		crc32.Checksum(h[:20], castagnoli) != binary.LittleEndian.Uint32(h[20:]) {
		return nil
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v > segmentVersion {
		return &FormatError{File: path, Version: v, Known: segmentVersion}
	}
	return nil
}

// newerSnapshot returns a *FormatError if a snapshot's header h is intact
// (its magic and the CRC of h and data right) and names a version newer
// than snapshotVersion, else nil. The caller fills in its File.
func newerSnapshot(h, data []byte) error {
	if len(h) < snapshotHeaderSize || string(h[:8]) != snapshotMagic ||
		crc32.Update(crc32.Checksum(h[:28], castagnoli), castagnoli, data) != binary.LittleEndian.Uint32(h[28:]) {
		return nil
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v > snapshotVersion {
		return &FormatError{Version: v, Known: snapshotVersion}
	}
	return nil
}
