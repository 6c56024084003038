package nats_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/nats"
	"github.com/statecast/statecast/store/nats/natstest"
)

func TestAppendNeedsIDs(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	l := open(t, c, nats.Options{Stream: newStream()})
	b := batch("a", 0, 3)
	b[1].ID = ""
	err := l.Append(context.Background(), b)
	if err == nil || !strings.Contains(err.Error(), "no ID") {
		t.Fatalf("Append of an action without ID returned %v", err)
	}
	if l.LastSeq() != 0 || b[0].Seq != 0 {
		t.Fatalf("a refused batch left LastSeq %d, Seq %d", l.LastSeq(), b[0].Seq)
	}
}

// TestAppendAgainKeepsSeq appends actions again, as a retry after an error
// would: the stream keeps the first copy, and Append reports its seq.
func TestAppendAgainKeepsSeq(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	l := open(t, c, nats.Options{Stream: newStream()})
	ctx := context.Background()
	if err := l.Append(ctx, batch("a", 0, 3)); err != nil {
		t.Fatal(err)
	}
	again := append(batch("a", 1, 2), action("b-0")) // a-1, a-2 again, then a new one
	if err := l.Append(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again[0].Seq != 2 || again[1].Seq != 3 || again[2].Seq != 4 {
		t.Fatalf("seqs %d %d %d, want 2 3 4", again[0].Seq, again[1].Seq, again[2].Seq)
	}
	if l.LastSeq() != 4 {
		t.Fatalf("LastSeq %d, want 4", l.LastSeq())
	}
	var ids []string
	if err := l.Read(ctx, 0, func(a *actions.Action) error { ids = append(ids, a.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, " ") != "a-0 a-1 a-2 b-0" {
		t.Fatalf("stream holds %v", ids)
	}
}

// TestCorruptBody checks that a message whose body is not an action stops
// Read and Follow with an error naming its seq, after the records before it.
func TestCorruptBody(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	stream := newStream()
	l := open(t, c, nats.Options{Stream: stream})
	ctx := context.Background()
	if err := l.Append(ctx, batch("a", 0, 2)); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(l.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, l.Subject(), []byte("not an action")); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, batch("a", 2, 1)); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error, n int) {
		t.Helper()
		if !errors.Is(err, actions.ErrCorrupt) || !strings.Contains(err.Error(), "seq 3") || !strings.Contains(err.Error(), stream) {
			t.Fatalf("%s returned %v, want an error naming the stream and seq 3 that wraps actions.ErrCorrupt", what, err)
		}
		if n != 2 {
			t.Fatalf("%s delivered %d records before the corrupt one, want 2", what, n)
		}
	}
	n := 0
	err = l.Read(ctx, 0, func(*actions.Action) error { n++; return nil })
	check("Read", err, n)
	n = 0
	err = l.Follow(ctx, 0, func(*actions.Action) error { n++; return nil })
	check("Follow", err, n)
	n = 0
	if err := l.Read(ctx, 4, func(*actions.Action) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("Read(4) past the corrupt record: %v, %d records", err, n)
	}
}

func TestOpenChecksTheStream(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	ctx := context.Background()
	l := open(t, c, nats.Options{Stream: newStream()})
	js, err := jetstream.New(l.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  jetstream.StreamConfig
		want string
	}{
		{"OtherSubjects", jetstream.StreamConfig{Subjects: []string{"x.actions", "x.other"}, Duplicates: time.Minute}, "subjects"},
		{"WorkQueue", jetstream.StreamConfig{Subjects: []string{"x.actions"}, Retention: jetstream.WorkQueuePolicy, Duplicates: time.Minute}, "retention"},
		{"ShortDuplicateWindow", jetstream.StreamConfig{Subjects: []string{"x.actions"}, Duplicates: 5 * time.Second}, "duplicate window"},
		{"OtherFormat", jetstream.StreamConfig{Subjects: []string{"x.actions"}, Duplicates: time.Minute, Metadata: map[string]string{nats.FormatKey: "json"}}, "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Name = newStream()
			cfg.Subjects[0] = cfg.Name + ".actions"
			if _, err := js.CreateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			_, err := nats.Open(ctx, nats.Options{URLs: c.URLs(), Stream: cfg.Name})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open returned %v, want an error about the %s", err, tc.want)
			}
		})
	}
	// A stream made by hand that fits is fine.
	name := newStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"elsewhere"}, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	l2 := open(t, c, nats.Options{Stream: name, Subject: "elsewhere"})
	if err := l2.Append(ctx, batch("a", 0, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, o := range []nats.Options{
		{Stream: "a.b"},
		{Subject: "x.*"},
		{Replicas: 7},
		{RetryTimeout: time.Minute, Duplicates: 30 * time.Second},
		{AckTimeout: -time.Second},
	} {
		if _, err := nats.Open(ctx, o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	// Nothing listens here: Open fails, and quickly.
	start := time.Now()
	if _, err := nats.Open(ctx, nats.Options{URLs: "nats://127.0.0.1:1", ConnectTimeout: time.Second}); err == nil {
		t.Error("Open without a server succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open without a server took %v", d)
	}
}

// TestReconnect stops the only server under an open Log and starts it
// again: OnConnection reports both, and the Log works on.
func TestReconnect(t *testing.T) {
	t.Parallel()
	c := natstest.StartServer(t)
	events := make(chan bool, 10)
	l := open(t, c, nats.Options{Stream: newStream(), OnConnection: func(up bool) { events <- up }})
	ctx := context.Background()
	if err := l.Append(ctx, batch("a", 0, 2)); err != nil {
		t.Fatal(err)
	}
	f := follow(ctx, t, l, 0)
	f.wait(t, 2)
	c.Shutdown(0)
	expect := func(want bool) {
		t.Helper()
		select {
		case up := <-events:
			if up != want {
				t.Fatalf("OnConnection(%v), want %v", up, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no OnConnection(%v)", want)
		}
	}
	expect(false)
	c.Restart(0)
	expect(true)
	// An Append while the stream may not answer yet is retried.
	if err := l.Append(ctx, batch("a", 2, 2)); err != nil {
		t.Fatal(err)
	}
	got := f.wait(t, 4)
	for k, a := range got {
		if a.Seq != uint64(k+1) {
			t.Fatalf("after the restart, Follow gave seq %d as record %d", a.Seq, k)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.end(t); !errors.Is(err, nats.ErrClosed) {
		t.Fatalf("Follow returned %v, want ErrClosed", err)
	}
}

// Nodes that start together on a fresh cluster all open the log: one
// creates the stream, the others find it, whoever was slower.
func TestOpenTogether(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t, 3)
	stream := newStream()
	logs := make([]*nats.Log, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i], errs[i] = nats.Open(context.Background(), nats.Options{URLs: c.URL(i), Stream: stream, Replicas: 3})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer logs[i].Close()
	}
	for i, l := range logs {
		if err := l.Append(context.Background(), []*actions.Action{action(fmt.Sprintf("together-%d", i))}); err != nil {
			t.Fatalf("node %d appends: %v", i, err)
		}
	}
	if got := logs[0].LastSeq(); got != 3 {
		t.Fatalf("LastSeq = %d after one append per node, want 3", got)
	}
}
