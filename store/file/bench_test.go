package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/file"
)

// chat returns a typical chat message action, stamped as the stamp
// middleware would.
func chat(i int) *actions.Action {
	return &actions.Action{
		ID: fmt.Sprintf("01J%023d", i), Type: actions.TypeWriteMessage, Room: "lobby",
		Session: "6f1c2a9e-3b1d-4c55-9a51-0c3f5f4e8b21", User: "d2b7c1e0-6a4f-4e0a-8f6e-1b2c3d4e5f60",
		At:      time.Unix(1_700_000_000, int64(i)).UTC(),
		Payload: actions.WriteMessage{Message: "hello everyone, how is it going today?", ClientID: fmt.Sprint(i)},
	}
}

func count(n int, _ *actions.Action) int { return n + 1 }

// benchmarkDispatch dispatches b.N actions from writers goroutines through
// a store on a file log, and reports actions per second.
func benchmarkDispatch(b *testing.B, opts file.Options, writers int) {
	l, err := file.Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(context.Background(), 0, count, store.Options[int]{Log: l})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acts := make([]*actions.Action, b.N)
	for i := range acts {
		acts[i] = chat(i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if err := s.Dispatch(context.Background(), acts[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkAppendFsyncAlways measures durable dispatch: with one writer
// ns/op is the latency of one action (one write and one fsync); with many,
// group commit shares each fsync among every action waiting for it.
func BenchmarkAppendFsyncAlways(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			benchmarkDispatch(b, file.Options{}, writers)
		})
	}
}

// BenchmarkAppendFsync compares the other policies, 64 writers each.
func BenchmarkAppendFsync(b *testing.B) {
	for _, f := range []file.Fsync{file.Interval, file.Off} {
		b.Run(f.String(), func(b *testing.B) { benchmarkDispatch(b, file.Options{Fsync: f}, 64) })
	}
}

// readBenchRecords is how many records the read benchmarks replay.
const readBenchRecords = 200_000

// filledLog returns a log of readBenchRecords chat messages.
func filledLog(b *testing.B) (*file.Log, string) {
	dir := b.TempDir()
	l, err := file.Open(dir, file.Options{Fsync: file.Off})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < readBenchRecords; i += 500 {
		batch := make([]*actions.Action, 500)
		for k := range batch {
			batch[k] = chat(i + k)
		}
		if err := l.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return l, dir
}

// BenchmarkRead measures replay: decoding the whole log from a warm page
// cache.
func BenchmarkRead(b *testing.B) {
	const n = readBenchRecords
	l, dir := filledLog(b)
	defer l.Close()
	b.SetBytes(dirSize(b, filepath.Join(dir, "log")))
	b.ReportAllocs()
	iterations := 0
	for b.Loop() {
		got := 0
		if err := l.Read(context.Background(), 0, func(*actions.Action) error { got++; return nil }); err != nil || got != n {
			b.Fatalf("read %d records: %v", got, err)
		}
		iterations++
	}
	b.ReportMetric(float64(n*iterations)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkOpen measures recovery: Open checks and decodes every record.
func BenchmarkOpen(b *testing.B) {
	l, dir := filledLog(b)
	l.Close()
	iterations := 0
	for b.Loop() {
		l, err := file.Open(dir, file.Options{})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
		iterations++
	}
	b.ReportMetric(float64(readBenchRecords*iterations)/b.Elapsed().Seconds(), "actions/s")
}

func dirSize(b *testing.B, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, e := range entries {
		fi, _ := e.Info()
		size += fi.Size()
	}
	return size
}
