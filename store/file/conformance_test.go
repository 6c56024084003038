package file_test

import (
	"testing"

	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/store/logtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts file.Options
	}{
		{"Always", file.Options{}},
		{"Interval", file.Options{Fsync: file.Interval}},
		{"Off", file.Options{Fsync: file.Off}},
		{"AlwaysTinySegments", file.Options{SegmentSize: 512}},
		{"OffTinySegments", file.Options{Fsync: file.Off, SegmentSize: 512}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T, dir string) store.Log {
				l, err := file.Open(dir, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			logtest.Run(t, func(t *testing.T) store.Log { return open(t, t.TempDir()) })
			logtest.RunReopen(t, func(t *testing.T) (store.Log, func() store.Log) {
				dir := t.TempDir()
				l := open(t, dir)
				return l, func() store.Log {
					if err := l.Close(); err != nil {
						t.Fatal(err)
					}
					l = open(t, dir)
					return l
				}
			})
		})
	}
}
