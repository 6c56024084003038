package transport_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// The connectedUserList of every v1 `connected`, and the userList of a v2
// snapshot, come from the hub's own copy of the room's user list
// (userList); through users entering, opening second tabs, leaving and
// coming back it stays the state's list, in entry order.
func TestConnectedUserListFollowsTheRoom(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 30 * time.Millisecond})
	watch, hello := s.Join(t, "/chat", "watch", "watch")
	wantOrder(t, hello, []string{"watch"})
	order := []string{"watch"}              // the model: ids in entry order
	tabs := map[string][]*chattest.Client{} // each user's open sockets
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		id := fmt.Sprintf("u%d", rng.IntN(5))
		if open := tabs[id]; len(open) > 0 && rng.IntN(2) == 0 {
			// Close one of its sockets; the last one makes it leave.
			c := open[len(open)-1]
			tabs[id] = open[:len(open)-1]
			c.Close()
			if len(tabs[id]) == 0 {
				expectPresence(t, watch, "disconnected", id, id)
				order = slices.DeleteFunc(order, func(x string) bool { return x == id })
			}
			continue
		}
		c, hello := s.Join(t, "/chat", id, id)
		if len(tabs[id]) == 0 {
			expectPresence(t, watch, "joined", id, id)
			order = append(order, id)
		}
		tabs[id] = append(tabs[id], c)
		wantOrder(t, hello, order)
		if state := stateOrder(s); !slices.Equal(state, order) {
			t.Fatalf("the state lists %v, want %v", state, order)
		}
	}
	v2 := s.Dial(t, "/chat", chattest.V2())
	v2.Send(chattest.Connecting(map[string]any{"id": "mirror", "username": "mirror"}))
	v2.Expect("snapshot")
	var mirror []string
	for _, u := range v2.State().UserList {
		mirror = append(mirror, u.ID)
	}
	if state := stateOrder(s); !slices.Equal(mirror, state) {
		t.Fatalf("the snapshot lists %v, the state %v", mirror, state)
	}
}

// stateOrder returns the ids of room chat's user list in the state.
func stateOrder(s *chattest.Server) []string {
	var ids []string
	for _, u := range s.Store().GetState().Room("chat").UserList() {
		ids = append(ids, u.ID)
	}
	return ids
}

// wantOrder fails unless the `connected` event lists exactly the ids, in
// that order.
func wantOrder(t *testing.T, hello chattest.Event, ids []string) {
	t.Helper()
	var got []string
	for _, u := range hello.List("connectedUserList") {
		id, _ := u.(map[string]any)["id"].(string)
		got = append(got, id)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("connectedUserList = %v, want %v", got, ids)
	}
}
