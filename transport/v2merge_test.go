package transport_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store/file"
	"github.com/statecast/statecast/transport"
)

// TestV2MergeWindow: a v2 socket idle for longer than -merge-window gets a
// change at once; changes that follow within the window wait for its end
// and arrive merged into one patch.
func TestV2MergeWindow(t *testing.T) {
	t.Parallel()
	const window = 1500 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{MergeWindow: window}, RateLimit: noRateLimit})
	const room = "/chat/v2_window"
	watcher := s.JoinV2(t, room, "w", "watcher")
	ann, _ := s.Join(t, room, "ann", "ann")
	watcher.ReadOps(1) // ann entered
	time.Sleep(window) // idle for a whole window

	ann.Say("first")
	start := time.Now()
	ops, _ := watcher.ReadOps(1)
	if took := time.Since(start); took > window/2 {
		t.Fatalf("an idle socket got its change after %v, want it at once (window %v)", took, window)
	}
	expectWritten(t, ann)
	for i := range 5 {
		ann.Say(fmt.Sprint("burst ", i))
		expectWritten(t, ann)
	}
	f := watcher.Expect("patch")
	waited := time.Since(start)
	if got := len(f.Ops(t)); got != 5 || waited < window*2/3 {
		t.Fatalf("after %v: a patch of %d operations (first: %v), want the 5 burst messages merged, no sooner than the window (%v)", waited, got, ops, window)
	}
}

// TestV2PresenceWindow: an idle v2 socket gets a join at once; the joins
// that follow within -presence-window wait for its end and arrive as one
// patch; a message queued behind waiting joins ends the wait at the merge
// window and goes out with them.
func TestV2PresenceWindow(t *testing.T) {
	t.Parallel()
	const window = 2 * time.Second
	s := chattest.Start(t, server.Config{Transport: transport.Config{PresenceWindow: window}, RateLimit: noRateLimit})
	const room = "/chat/v2_presence_window"
	watcher := s.JoinV2(t, room, "w", "watcher")
	time.Sleep(window) // idle since its snapshot

	start := time.Now()
	ann, _ := s.Join(t, room, "ann", "ann")
	watcher.ReadOps(1)
	if took := time.Since(start); took > window/2 {
		t.Fatalf("an idle socket got a join after %v, want it at once (presence window %v)", took, window)
	}
	for i := range 5 {
		s.Join(t, room, fmt.Sprint("crowd", i), fmt.Sprint("crowd ", i))
	}
	f := watcher.Expect("patch")
	if got, waited := len(f.Ops(t)), time.Since(start); got != 5 || waited < window*2/3 {
		t.Fatalf("after %v: a patch of %d operations, want the 5 joins merged, no sooner than the presence window (%v)", waited, got, window)
	}

	time.Sleep(window) // idle again
	start = time.Now()
	s.Join(t, room, "late0", "late 0")
	watcher.ReadOps(1)
	s.Join(t, room, "late1", "late 1") // waits for the presence window
	ann.Say("hello")
	until(t, ann, "messageWritten")
	f = watcher.Expect("patch")
	ops := f.Ops(t)
	if waited := time.Since(start); len(ops) != 2 || ops[0].Path != "/userList/-" || ops[1].Path != "/messages/-" || waited > window/2 {
		t.Fatalf("after %v: %+v, want the late join and the message in one patch, well before the presence window (%v)", waited, ops, window)
	}
}

// TestV1PresenceWindow: a v1 socket gets a join at once when idle; the
// `joined` events that follow within -presence-window wait for its end, in
// order; a messageWritten queued behind them ends the wait at once.
func TestV1PresenceWindow(t *testing.T) {
	t.Parallel()
	const window = 2 * time.Second
	s := chattest.Start(t, server.Config{Transport: transport.Config{PresenceWindow: window}, RateLimit: noRateLimit})
	const room = "/chat/v1_presence_window"
	watcher, _ := s.Join(t, room, "w", "watcher")
	time.Sleep(window) // idle since its greeting

	start := time.Now()
	s.Join(t, room, "first", "first")
	expectPresence(t, watcher, "joined", "first", "first")
	if took := time.Since(start); took > window/2 {
		t.Fatalf("an idle socket got a join after %v, want it at once (presence window %v)", took, window)
	}
	for i := range 3 {
		s.Join(t, room, fmt.Sprint("crowd", i), fmt.Sprint("crowd ", i))
	}
	for i := range 3 {
		expectPresence(t, watcher, "joined", fmt.Sprint("crowd", i), fmt.Sprint("crowd ", i))
	}
	if waited := time.Since(start); waited < window*2/3 {
		t.Fatalf("the crowd's joins came after %v, want no sooner than the presence window (%v)", waited, window)
	}

	time.Sleep(window) // idle again
	start = time.Now()
	ann, _ := s.Join(t, room, "ann", "ann")
	expectPresence(t, watcher, "joined", "ann", "ann")
	s.Join(t, room, "late", "late") // waits for the presence window
	ann.Say("hello")
	expectPresence(t, watcher, "joined", "late", "late")
	expectMessage(t, watcher, "ann", "hello")
	if waited := time.Since(start); waited > window/2 {
		t.Fatalf("the join and the message behind it came after %v, want well before the presence window (%v)", waited, window)
	}
}

// TestV2MergedPatches makes one v2 socket a slow reader: while it does not
// read, the socket's buffers fill, a write to it blocks and its send queue
// grows; the writer then merges the queued changes into one patch with the
// last one's seq.
func TestV2MergedPatches(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{History: 1, Limits: middleware.Limits{Message: 200000}, Transport: transport.Config{FrameLimit: 262144}, Fsync: file.Off, RateLimit: noRateLimit})
	const room = "/chat/v2_merged"
	slow := s.JoinV2(t, room, "slow", "slow")
	bob := s.JoinV2(t, room, "bob", "bob")
	slow.ReadOps(1)

	// bob writes big messages until frames wait in a send queue: bob reads
	// all of his, so they are the slow socket's. bob only looks for his
	// acks: decoding every big patch would make this slow.
	big := strings.Repeat("x", 150_000)
	var seqs []uint64
	for i := 0; ; i++ {
		if i == 400 {
			t.Fatal("no frames waited in the slow socket's queue after 400 big messages")
		}
		seqs = append(seqs, bob.SayBlind(fmt.Sprintf("%d %s", i, big), fmt.Sprint(i)))
		if waiting := s.Metric(t, "statecast_send_queue_frames"); waiting >= 3 {
			break
		}
	}
	// Two more, certainly queued.
	seqs = append(seqs, bob.SayBlind("last but one", "x1"), bob.SayBlind("last", "x2"))

	// Now read: every message once, in order, some patches merged, each
	// with the seq of its last change.
	var adds []uint64
	for slow.LastSeq < seqs[len(seqs)-1] {
		f := slow.Expect("patch")
		var ops []struct {
			Op, Path string
			Value    struct{ Seq uint64 }
		}
		if err := json.Unmarshal(f.JSON("ops"), &ops); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, op := range ops {
			if op.Op == "add" && op.Path == "/messages/-" {
				adds = append(adds, op.Value.Seq)
				n++
			}
		}
		if n > 0 && adds[len(adds)-1] != f.Seq() {
			t.Fatalf("a patch adding messages up to seq %d has seq %d", adds[len(adds)-1], f.Seq())
		}
	}
	if !reflect.DeepEqual(adds, seqs) {
		t.Fatalf("messages added by patches: %v, want each of %v once", adds, seqs)
	}
	patches, merged := slow.Patches()
	if merged == 0 {
		t.Fatalf("none of %d patches merged several messages", patches)
	}
	t.Logf("%d messages reached the slow reader in %d patches, %d merged", len(seqs), patches-1, merged)
	fresh := s.JoinV2(t, room, "", "fresh")
	slow.WantSynced(fresh)
}

// TestV2OwnChangeSkipsMergeWindow: the author of a change gets it (and its
// ack) at once, even within its socket's merge window; the other sockets
// still wait for theirs.
func TestV2OwnChangeSkipsMergeWindow(t *testing.T) {
	t.Parallel()
	const window = 1500 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{MergeWindow: window}, RateLimit: noRateLimit})
	const room = "/chat/v2_own"
	watcher := s.JoinV2(t, room, "w", "watcher")
	author := s.JoinV2(t, room, "a", "author")
	watcher.ReadOps(1) // the author entered
	time.Sleep(window)

	author.SayV2("first", "c1") // opens the author's and the watcher's windows
	watcher.ReadOps(1)
	start := time.Now()
	author.SayV2("second", "c2")
	if took := time.Since(start); took > window/2 {
		t.Fatalf("the author got its own change after %v, want it at once (window %v)", took, window)
	}
	watcher.ReadOps(1)
	if waited := time.Since(start); waited < window/2 {
		t.Fatalf("the watcher got the change after %v, within the merge window (%v)", waited, window)
	}
}
