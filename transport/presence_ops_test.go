package transport_test

// The steps of the presence property test (presence_property_test.go):
// each acts through real sockets, checks the server's immediate answer, and
// updates the model.

import (
	"fmt"
	"time"

	"github.com/statecast/statecast/internal/chattest"
)

// connect opens a socket of a random user, as itself, to a random room.
func (r *pRun) connect() string {
	if len(r.socks) >= pMaxSocks {
		return ""
	}
	var users []*pUser
	for _, u := range r.users {
		if !u.observer {
			users = append(users, u)
		}
	}
	u, room := users[r.rng.IntN(len(users))], r.room()
	r.steps = append(r.steps, fmt.Sprintf("connect %s (%s) to %s", u.label, u.kind, room.name))
	r.open(u, room)
	return r.pop()
}

// open connects a socket of u to room with u's id and newest token, which
// must get u's id: nobody else ever holds it.
func (r *pRun) open(u *pUser, room *pRoom) {
	fields := map[string]any{"id": u.id, "username": u.label}
	if u.kind != kindV1Plain {
		fields["token"] = u.token
		if u.token == "" {
			fields["token"] = "first-" + u.id // any token claims a free id
		}
	}
	c, id, token := r.dial(room, u.kind == kindV2, fields)
	if id != u.id {
		r.fail("%s claimed its own id %s and got %q", u.label, u.id, id)
	}
	if u.kind != kindV1Plain {
		if token == "" {
			r.fail("%s's strict claim was answered without a token", u.label)
		}
		u.token = token
	}
	r.socks = append(r.socks, &pSock{c: c, user: u, room: room})
	room.open(u)
}

// dial opens a socket to room (v2 or v1), sends connecting with fields, and
// returns it with the id and token of the answer.
func (r *pRun) dial(room *pRoom, v2 bool, fields map[string]any) (c *chattest.Client, id, token string) {
	t := r.t
	if v2 {
		c, e := r.s.ConnectV2(t, room.path, fmt.Sprint(fields["username"]), nil, fields)
		if e.Name() != "snapshot" {
			r.fail("connecting got %v, want a snapshot", e)
		}
		return c, c.ID, c.Token
	}
	c = r.s.Dial(t, room.path)
	c.Send(chattest.Connecting(fields))
	e := c.Expect("connected")
	return c, e.Str("id"), e.Str("token")
}

// refusedClaim claims the id of a random present user (one in its grace
// period, when there is one, three times out of four), in a random room,
// with a wrong token or none. The socket must get a fresh id: a new user
// of the model, that connects as itself afterwards like any other.
func (r *pRun) refusedClaim() string {
	if len(r.socks) >= pMaxSocks {
		return ""
	}
	kinds := []struct {
		kind  pKind
		token string
	}{{kindV2, ""}, {kindV2, "wrong"}, {kindV1Token, "wrong"}, {kindV1Plain, ""}}
	how := kinds[r.rng.IntN(len(kinds))]
	var victims []*pUser
	for _, u := range r.present() {
		// A plain claim of an unbound id is granted: v1 ids are not protected.
		if how.kind != kindV1Plain || u.bound() {
			victims = append(victims, u)
		}
	}
	if len(victims) == 0 {
		return ""
	}
	if graced := r.graced(victims); len(graced) > 0 && r.rng.IntN(4) > 0 {
		victims = graced
	}
	victim, room := victims[r.rng.IntN(len(victims))], r.room()
	r.attackers++
	att := &pUser{label: fmt.Sprintf("mallory%d", r.attackers), kind: how.kind}
	fields := map[string]any{"id": victim.id, "username": att.label}
	if how.token != "" {
		fields["token"] = how.token
	}
	r.steps = append(r.steps, fmt.Sprintf("claim %s's id in %s as %s with token %q (%s)", victim.label, room.name, how.kind, how.token, att.label))
	c, id, token := r.dial(room, how.kind == kindV2, fields)
	if id == victim.id {
		r.checkTime("; the claim got the victim's id") // its grace period may have ended
		r.fail("the claim was granted: it got %s's id", victim.label)
	}
	for _, u := range r.users {
		if u.id == id {
			r.fail("the claim got %s's id", u.label)
		}
	}
	if id == "" || (how.kind != kindV1Plain && token == "") {
		r.fail("the refused claim got id %q, token %q; want a fresh id with a token for a strict claim", id, token)
	}
	att.id, att.token = id, token
	r.steps[len(r.steps)-1] += " → fresh id " + id
	if len(r.graced([]*pUser{victim})) > 0 {
		r.stats["claims of a user in its grace period"]++
	}
	r.users = append(r.users, att)
	r.socks = append(r.socks, &pSock{c: c, user: att, room: room})
	room.open(att)
	return r.pop()
}

// present returns the users listed in some room.
func (r *pRun) present() []*pUser {
	var out []*pUser
	for _, u := range r.users {
		for _, room := range r.rooms {
			if room.listed(u) {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

// graced returns the users of us in their grace period in some room.
func (r *pRun) graced(us []*pUser) []*pUser {
	var out []*pUser
	for _, u := range us {
		for _, room := range r.rooms {
			if _, ok := room.grace[u]; ok {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

// drop closes a random socket: cleanly (close 1000) or abruptly.
func (r *pRun) drop(clean bool) string {
	if len(r.socks) == 0 {
		return ""
	}
	i := r.rng.IntN(len(r.socks))
	sk := r.socks[i]
	r.socks = append(r.socks[:i], r.socks[i+1:]...)
	what := fmt.Sprintf("drop %s's socket in %s", sk.user.label, sk.room.name)
	if clean {
		what = fmt.Sprintf("close %s's socket in %s", sk.user.label, sk.room.name)
	}
	r.closeSock(sk, clean)
	return what
}

// closeSock closes sk and records it in the model.
func (r *pRun) closeSock(sk *pSock, clean bool) {
	since := time.Now()
	r.graceStarted(since)
	if clean {
		sk.c.Close()
	} else {
		sk.c.CloseNow()
	}
	sk.room.close(sk.user, since)
}

// reload closes a random socket, cleanly or not, and connects its user
// again to the same room at once.
func (r *pRun) reload() string {
	if len(r.socks) == 0 {
		return ""
	}
	i := r.rng.IntN(len(r.socks))
	sk, clean := r.socks[i], r.rng.IntN(2) == 0
	r.socks = append(r.socks[:i], r.socks[i+1:]...)
	r.steps = append(r.steps, fmt.Sprintf("reload %s in %s (clean close %v)", sk.user.label, sk.room.name, clean))
	r.closeSock(sk, clean)
	r.open(sk.user, sk.room)
	return r.pop()
}

// pop removes the last step of the list, for the caller to append again:
// steps add themselves early so that a failure inside names them.
func (r *pRun) pop() string {
	what := r.steps[len(r.steps)-1]
	r.steps = r.steps[:len(r.steps)-1]
	return what
}
