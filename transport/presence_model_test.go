package transport_test

// The model and the observers of the presence property test
// (presence_property_test.go): a user is listed in a room exactly while it
// has a socket there or is inside its grace period, and each entry and
// leave is announced once to every observer.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
)

// pKind is how a user connects, which decides whose claims of its id the
// server refuses (docs/protocol.md, "Ids and tokens").
type pKind int

const (
	kindV1Plain pKind = iota // v1 without a token: a plain claim, an unbound id
	kindV1Token              // v1 with a token: a strict claim
	kindV2                   // v2: a strict claim
)

func (k pKind) String() string {
	return [...]string{"v1", "v1+token", "v2"}[k]
}

// pUser is one user id: its token outlives its sockets.
type pUser struct {
	label    string // its username, and its name in the step list
	id       string
	kind     pKind
	token    string // the newest token the server handed it
	observer bool   // one of a room's observers, whose sockets stay open
}

// bound reports whether a present id of the user is bound to a token:
// strict claims bind, plain ones do not.
func (u *pUser) bound() bool { return u.kind != kindV1Plain }

// pSock is one open socket of the model.
type pSock struct {
	c    *chattest.Client
	user *pUser
	room *pRoom
}

// pRoom is one room of the model: the sockets per user, the grace periods
// under way (since a time taken just before the close that started them),
// the user list in entry order, and the announcements every observer must
// have seen, per id ("+" entered, "-" left).
type pRoom struct {
	name, path string
	sockets    map[*pUser]int
	grace      map[*pUser]time.Time
	order      []string
	want       map[string]string
	obs        []*pObserver
}

func newPRoom(name string) *pRoom {
	return &pRoom{name: name, path: "/chat/" + name, sockets: map[*pUser]int{},
		grace: map[*pUser]time.Time{}, want: map[string]string{}}
}

func (r *pRoom) listed(u *pUser) bool {
	_, graced := r.grace[u]
	return r.sockets[u] > 0 || graced
}

// open records a socket of u connecting.
func (r *pRoom) open(u *pUser) {
	if !r.listed(u) {
		r.order = append(r.order, u.id)
		r.want[u.id] += "+"
	}
	r.sockets[u]++
	delete(r.grace, u)
}

// close records a socket of u closing, at since or later.
func (r *pRoom) close(u *pUser, since time.Time) {
	r.sockets[u]--
	if r.sockets[u] == 0 {
		delete(r.sockets, u)
		r.grace[u] = since
	}
}

// expire ends every grace period under way.
func (r *pRoom) expire() {
	for u := range r.grace {
		r.order = slices.DeleteFunc(r.order, func(id string) bool { return id == u.id })
		r.want[u.id] += "-"
	}
	clear(r.grace)
}

// presences returns the model's user list as the state should hold it: id
// → sockets (0 in the grace period).
func (r *pRoom) presences() map[string]int {
	out := map[string]int{}
	for u, n := range r.sockets {
		out[u.id] = n
	}
	for u := range r.grace {
		out[u.id] = 0
	}
	return out
}

// stateDiff describes how the store's state of the room differs from the
// model, or returns "".
func (r *pRoom) stateDiff(s *chattest.Server) string {
	got := map[string]int{}
	if room := s.Store().GetState().Room(r.name); room != nil {
		for _, p := range room.Presences() {
			got[p.User.ID] = p.Sockets
		}
	}
	if want := r.presences(); !mapsEqual(got, want) {
		return fmt.Sprintf("room %s: state lists (id: sockets) %s, model %s", r.name, fmtCounts(got), fmtCounts(want))
	}
	return ""
}

// pObserver is a socket that never closes and records every user list
// change it is told of: joined and disconnected (v1), userList patches
// (v2).
type pObserver struct {
	c     *chattest.Client
	v2    bool
	list  []string          // the user list its frames built, ids in entry order
	seen  map[string]string // id → announcements, as pRoom.want
	marks int               // barriers sent
}

func newPObserver(c *chattest.Client, v2 bool, list []string) *pObserver {
	return &pObserver{c: c, v2: v2, list: list, seen: map[string]string{}}
}

func (o *pObserver) name() string {
	if o.v2 {
		return "v2 observer"
	}
	return "v1 observer"
}

// barrier makes a round trip that the server answers after every frame it
// queued for the observer before, and records those frames. v1 writes a
// message and reads up to it; v2 re-sends a used clientId, which changes
// nothing, and reads up to its ack.
func (o *pObserver) barrier(t *testing.T) {
	t.Helper()
	o.marks++
	if o.v2 {
		o.c.SayID("barrier", "barrier")
	} else {
		o.c.Say("barrier " + strconv.Itoa(o.marks))
	}
	for {
		e := o.c.Next()
		switch e.Name() {
		case "joined", "disconnected":
			o.announce(t, e.Name() == "joined", e.Str("id"))
		case "patch":
			var ops []string
			ops, o.list = applyUserOps(t, o.list, e)
			for _, op := range ops {
				o.seen[op[1:]] += op[:1]
			}
		case "messageWritten":
			if _, text := lastMessage(t, e); text == "barrier "+strconv.Itoa(o.marks) {
				return
			}
		case "ack":
			if e.Str("clientId") == "barrier" {
				return
			}
			t.Fatalf("%s: unexpected %v", o.name(), e)
		default:
			t.Fatalf("%s: unexpected %v", o.name(), e)
		}
	}
}

// announce records a v1 joined or disconnected of id.
func (o *pObserver) announce(t *testing.T, joined bool, id string) {
	t.Helper()
	if joined {
		o.seen[id] += "+"
		o.list = append(o.list, id)
		return
	}
	o.seen[id] += "-"
	o.list = slices.DeleteFunc(o.list, func(x string) bool { return x == id })
}

// diff describes how what the observer was told differs from the model,
// or returns "".
func (o *pObserver) diff(t *testing.T, r *pRoom) string {
	t.Helper()
	if !slices.Equal(o.list, r.order) {
		return fmt.Sprintf("room %s: the %s's user list is %v, want %v", r.name, o.name(), o.list, r.order)
	}
	if o.v2 {
		var mirror []string
		for _, u := range o.c.State().UserList {
			mirror = append(mirror, u.ID)
		}
		if !slices.Equal(mirror, o.list) {
			return fmt.Sprintf("room %s: the v2 observer's mirror lists %v, its patches %v", r.name, mirror, o.list)
		}
	}
	if !mapsEqual(o.seen, r.want) {
		return fmt.Sprintf("room %s: the %s was told (id: + entered, - left) %s, want %s", r.name, o.name(), fmtAnnouncements(o.seen), fmtAnnouncements(r.want))
	}
	return ""
}

// applyUserOps applies a v2 patch's userList operations to list (ids in
// entry order) and returns them as "+id" and "-id" with the new list.
func applyUserOps(t *testing.T, list []string, e chattest.Event) (ops, next []string) {
	t.Helper()
	next = slices.Clone(list)
	for _, op := range e.Ops(t) {
		idx, ok := strings.CutPrefix(op.Path, "/userList/")
		switch {
		case !ok:
		case op.Op == "add" && idx == "-":
			u, _ := op.Value.(map[string]any)
			id, _ := u["id"].(string)
			ops, next = append(ops, "+"+id), append(next, id)
		case op.Op == "remove":
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 || i >= len(next) {
				t.Fatalf("patch removes %s from user list %v: %v", op.Path, next, e)
			}
			ops, next = append(ops, "-"+next[i]), slices.Delete(next, i, i+1)
		default:
			t.Fatalf("unexpected userList operation %v in %v", op, e)
		}
	}
	return ops, next
}

// userOps returns a v2 patch's userList operations as "+id" and "-id",
// given the user list before it.
func userOps(t *testing.T, before []struct{ ID, Username string }, e chattest.Event) []string {
	t.Helper()
	var list []string
	for _, u := range before {
		list = append(list, u.ID)
	}
	ops, _ := applyUserOps(t, list, e)
	return ops
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func fmtCounts(m map[string]int) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(out)
	return "{" + strings.Join(out, ", ") + "}"
}

func fmtAnnouncements(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return "{" + strings.Join(out, ", ") + "}"
}
