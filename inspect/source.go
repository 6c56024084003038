package inspect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/file"
	storenats "github.com/statecast/statecast/store/nats"
)

// Source opens the action log the inspector reads, read-only, as it is at
// the time of the call. The inspector opens it again to see what was
// appended since.
type Source interface {
	// Open returns the log and, when it keeps them, its snapshots (nil
	// otherwise). Closing the log releases both.
	Open(ctx context.Context) (store.Log, store.SnapshotLister, error)
}

// Dir is the Source of a data directory's file log (server.Config.Data).
type Dir string

// Open implements Source: the log is opened read-only, so it is safe next
// to the server that writes it.
func (d Dir) Open(context.Context) (store.Log, store.SnapshotLister, error) {
	if _, err := os.Stat(filepath.Join(string(d), "log")); err != nil {
		return nil, nil, fmt.Errorf("data directory %s holds no action log: %w", d, err)
	}
	l, err := file.Open(string(d), file.Options{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	return l, l, nil
}

// versioned is a Source that tells cheaply whether it changed: its version
// differs from the last one then.
type versioned interface {
	version() (string, error)
}

// version implements versioned: the names, sizes and times of the log's
// files.
func (d Dir) version() (string, error) {
	entries, err := os.ReadDir(filepath.Join(string(d), "log"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

// Stream is the Source of a cluster's JetStream stream (store/nats). It
// never creates the stream; streams keep no snapshots.
type Stream struct {
	URLs, Name string
}

// Open implements Source.
func (s Stream) Open(ctx context.Context) (store.Log, store.SnapshotLister, error) {
	l, err := storenats.Open(ctx, storenats.Options{URLs: s.URLs, Stream: s.Name, NoCreate: true, Name: "statecast inspect"})
	if err != nil {
		return nil, nil, err
	}
	return l, nil, nil
}
