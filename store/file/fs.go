package file

import (
	"fmt"
	"io"
	"os"
)

// fileSystem is the few file operations the log's segments go through:
// the operating system's (osFS), or in tests one that injects write and
// fsync errors, short writes and crashes, and forgets unsynced bytes as a
// power loss does. Snapshots and the directory lock use the os package
// directly.
type fileSystem interface {
	OpenFile(name string, flag int, perm os.FileMode) (osFile, error)
	Remove(name string) error
	ReadDir(name string) ([]os.DirEntry, error)
	MkdirAll(path string, perm os.FileMode) error
	Stat(name string) (os.FileInfo, error)
}

// osFile is an open file of a fileSystem.
type osFile interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	Sync() error
	// Datasync is fdatasync: it makes the file's data durable, and of its
	// metadata only what reading the data back needs (its size), so that
	// overwriting bytes inside the file commits no metadata.
	Datasync() error
	Truncate(size int64) error
	Close() error
	Name() string
	Stat() (os.FileInfo, error)
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (osFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil interface
	}
	return sysFile{f}, nil
}

// sysFile is an operating system file with Datasync.
type sysFile struct{ *os.File }

func (f sysFile) Datasync() error {
	if err := datasync(f.File); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) Stat(name string) (os.FileInfo, error)        { return os.Stat(name) }

// syncDir fsyncs a directory of fsys, so that files created, renamed or
// removed in it stay so after a crash.
func syncDir(fsys fileSystem, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("file: fsync %s: %w", dir, err)
	}
	return nil
}
