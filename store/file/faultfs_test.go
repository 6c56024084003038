package file

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errCrashed is what every operation of a faultFS returns once it crashed.
var errCrashed = errors.New("faultfs: crashed")

// faultFS is an in-memory fileSystem that injects faults. Each file has
// what the page cache holds (data) and what is on the disk (durable, as of
// its last fsync); a file created since the last fsync of its directory
// is not on the disk at all. powerLoss forgets everything not durable.
// Removals are durable at once (a simplification).
type faultFS struct {
	mu    sync.Mutex
	files map[string]*inode
	rng   *rand.Rand

	// inject, if set, decides each operation's fault: op is one of open,
	// write, sync, truncate, remove; it returns an error to fail with,
	// and for a write whether to write a prefix first (a short write).
	inject func(op, name string) (err error, short bool)
	// crashAt, when positive, crashes the file system at that operation
	// (counted by ops): it and every later one fail with errCrashed; a
	// write then leaves a random prefix, as a process killed midway.
	crashAt, ops int
	crashed      bool
	// onSync, if set, is called before each successful fsync of a segment.
	onSync func()
	// shortLen, if set, says how many of n bytes a short write writes;
	// by default a random number.
	shortLen func(n int) int
}

type inode struct {
	data, durable []byte
	onDisk        bool // its directory entry is durable
}

func newFaultFS(seed uint64) *faultFS {
	return &faultFS{files: map[string]*inode{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// step counts an operation and returns the fault to inject; fs.mu held.
func (fs *faultFS) step(op, name string) (err error, short bool) {
	if fs.crashed {
		return errCrashed, false
	}
	fs.ops++
	if fs.crashAt > 0 && fs.ops >= fs.crashAt {
		fs.crashed = true
		return errCrashed, op == "write"
	}
	if fs.inject != nil && !strings.HasSuffix(name, cutName) {
		return fs.inject(op, name)
	}
	return nil, false
}

// restart clears a crash, as a new process would start; with powerLoss,
// it first forgets everything that was not durable; with torn, a file
// keeps a random part of its unsynced bytes: its unsynced data up to a
// random point, and its durable bytes after it (whole pages where it
// overwrote them, as page write-back does).
func (fs *faultFS) restart(powerLoss, torn bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.crashed, fs.crashAt, fs.inject, fs.onSync = false, 0, nil, nil
	if !powerLoss {
		return
	}
	for name, ino := range fs.files {
		if !ino.onDisk {
			delete(fs.files, name)
			continue
		}
		keep := ino.durable
		if i := commonPrefix(ino.data, keep); torn && i < len(ino.data) {
			k := inPlace(i+fs.rng.IntN(len(ino.data)-i+1), i, len(keep))
			keep = append(ino.data[:k:k], keep[min(k, len(keep)):]...)
		}
		ino.data = slices.Clone(keep)
		ino.durable = slices.Clone(keep)
	}
}

// commonPrefix returns how many bytes a and b start with alike.
func commonPrefix(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// pageSize is the unit in which a faultFS tears writes over existing bytes.
const pageSize = 4096

// inPlace returns where a write from off that stopped at end really
// stops in a file of size bytes: over existing bytes, at a page boundary
// (not before off).
func inPlace(end, off, size int) int {
	if end >= size {
		return end
	}
	return max(off, end/pageSize*pageSize)
}

func (fs *faultFS) isCrashed() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.crashed
}

// durable returns a copy of the durable bytes of the file at name.
func (fs *faultFS) durable(name string) []byte {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if ino := fs.files[name]; ino != nil && ino.onDisk {
		return slices.Clone(ino.durable)
	}
	return nil
}

func (fs *faultFS) OpenFile(name string, flag int, perm os.FileMode) (osFile, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	ino := fs.files[name]
	if ino == nil && fs.isDir(name) {
		return &memFile{fs: fs, name: name, dir: true}, nil
	}
	if err, _ := fs.step("open", name); err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	switch {
	case ino == nil && flag&os.O_CREATE == 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	case ino == nil:
		ino = &inode{}
		fs.files[name] = ino
	case flag&os.O_TRUNC != 0:
		ino.data = ino.data[:0:0]
	}
	return &memFile{fs: fs, name: name, ino: ino}, nil
}

// isDir reports whether name is a directory: the log's files all have an
// extension or are the CUT and PROBE files.
func (fs *faultFS) isDir(name string) bool {
	return filepath.Ext(name) == "" && filepath.Base(name) != cutName && filepath.Base(name) != probeName
}

func (fs *faultFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err, _ := fs.step("remove", name); err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	if fs.files[name] == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(fs.files, name)
	return nil
}

func (fs *faultFS) ReadDir(name string) ([]os.DirEntry, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.crashed {
		return nil, errCrashed
	}
	return fs.readDir(name), nil
}

// uncrashed is fs as a test's oracle sees it: its directories can be
// listed even once the process crashed (what is on the disk is still there).
func (fs *faultFS) uncrashed() fileSystem { return oracleFS{fs} }

type oracleFS struct{ *faultFS }

func (o oracleFS) ReadDir(name string) ([]os.DirEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.readDir(name), nil
}

// readDir lists the files in the directory name; fs.mu held.
func (fs *faultFS) readDir(name string) []os.DirEntry {
	var out []os.DirEntry
	for p := range fs.files {
		if filepath.Dir(p) == name {
			out = append(out, memEntry(filepath.Base(p)))
		}
	}
	slices.SortFunc(out, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func (fs *faultFS) MkdirAll(string, os.FileMode) error { return nil }

func (fs *faultFS) Stat(name string) (os.FileInfo, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	ino := fs.files[name]
	if ino == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	return memInfo{name: filepath.Base(name), size: int64(len(ino.data))}, nil
}

// memFile is an open file (or directory) of a faultFS.
type memFile struct {
	fs   *faultFS
	name string
	ino  *inode
	dir  bool
	off  int64 // for Read
}

func (f *memFile) Name() string { return f.name }
func (f *memFile) Close() error { return nil }

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.dir {
		return memInfo{name: filepath.Base(f.name), dir: true}, nil
	}
	return memInfo{name: filepath.Base(f.name), size: int64(len(f.ino.data))}, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.crashed {
		return 0, errCrashed
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	off := len(f.ino.data)
	f.fs.mu.Unlock()
	return f.WriteAt(p, int64(off))
}

// WriteAt writes p at off; a short write writes a prefix of p: if
// injected, as many bytes as shortLen says, else (or if a crash) a random
// number, ending at a page boundary where it overwrites existing bytes.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	err, short := f.fs.step("write", f.name)
	n := len(p)
	if err != nil {
		n = 0
		switch {
		case short && f.fs.shortLen != nil && !errors.Is(err, errCrashed):
			n = f.fs.shortLen(len(p))
		case short:
			n = inPlace(int(off)+f.fs.rng.IntN(len(p)+1), int(off), len(f.ino.data)) - int(off)
		}
	}
	if grow := int(off) + n - len(f.ino.data); grow > 0 {
		f.ino.data = append(f.ino.data, make([]byte, grow)...)
	}
	copy(f.ino.data[off:], p[:n])
	if err != nil {
		return n, &os.PathError{Op: "write", Path: f.name, Err: err}
	}
	return n, nil
}

// Datasync is Sync: a faultFS keeps no metadata but sizes, which both make durable.
func (f *memFile) Datasync() error { return f.Sync() }

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err, _ := f.fs.step("sync", f.name); err != nil {
		return &os.PathError{Op: "sync", Path: f.name, Err: err}
	}
	if f.dir {
		for p, ino := range f.fs.files {
			if filepath.Dir(p) == f.name {
				ino.onDisk = true
			}
		}
		return nil
	}
	if f.fs.onSync != nil && strings.HasSuffix(f.name, ".seg") {
		f.fs.onSync()
	}
	f.ino.durable = slices.Clone(f.ino.data)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err, _ := f.fs.step("truncate", f.name); err != nil {
		return &os.PathError{Op: "truncate", Path: f.name, Err: err}
	}
	if size <= int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size:size]
	} else {
		f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	}
	return nil
}

type memEntry string

func (e memEntry) Name() string               { return string(e) }
func (e memEntry) IsDir() bool                { return false }
func (e memEntry) Type() os.FileMode          { return 0 }
func (e memEntry) Info() (os.FileInfo, error) { return memInfo{name: string(e)}, nil }

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir
	}
	return 0
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

// Errors a faultFS injects, as the operating system gives them.
var (
	errNoSpace = syscall.ENOSPC
	errIO      = syscall.EIO
)
