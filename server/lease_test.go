package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

// TestLeasesForgetNodesThatAreGone: the lease bookkeeping keeps a node
// while the state holds its sessions, and forgets it once its node/down
// was applied (or it held nothing) and it stayed silent: nodes that come
// and go with fresh ids do not pile up.
func TestLeasesForgetNodesThatAreGone(t *testing.T) {
	st := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	defer st.Close()
	ctx := context.Background()
	if err := st.Dispatch(ctx, &actions.Action{Type: actions.TypeOpenSession, Room: "chat", Session: "s1",
		Payload: actions.Open{Node: "b"}}); err != nil {
		t.Fatal(err)
	}
	const lease = time.Second
	t0 := time.Now()
	l := &leases{self: "a", lease: lease, store: st, started: t0,
		seen: map[string]time.Time{"a": t0, "b": t0, "c": t0}, downAt: map[string]time.Time{}}

	now := t0.Add(10 * lease)
	l.seen["a"] = now // this node hears itself
	if got := l.expired(now); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("expired = %v, want [b]", got)
	}
	if _, ok := l.seen["c"]; ok {
		t.Error("c, silent and holding nothing in the state, is still remembered")
	}
	if _, ok := l.seen["b"]; !ok {
		t.Error("b, whose sessions the state holds, was forgotten")
	}

	if err := st.Dispatch(ctx, &actions.Action{Type: actions.TypeNodeDown, Payload: actions.NodeDown{Node: "b"}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * lease)
	l.seen["a"] = now
	if got := l.expired(now); len(got) != 0 {
		t.Fatalf("expired after node/down = %v, want none", got)
	}
	if len(l.seen) != 1 || len(l.downAt) != 0 {
		t.Errorf("after b's node/down: seen %v, downAt %v; want only this node", l.seen, l.downAt)
	}
}
