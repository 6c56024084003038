package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/statecast/statecast/actions"
)

// maxWho bounds the names /who lists, so that the answer stays well within
// the server's message limit however full the room is.
const maxWho = 50

// answer returns the bot's answer to text, a chat message that user wrote
// in room, and false if text is no command of the bot's. Unknown commands
// get no answer: another bot may know them.
func (b *Bot) answer(room, user, text string) (string, bool) {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(text), " ")
	switch strings.ToLower(cmd) {
	case "/roll":
		return b.roll(b.username(room, user), strings.TrimSpace(arg)), true
	case "/who":
		return b.who(room), true
	case "/help":
		return fmt.Sprintf("/roll NdM throws N dice of M sides (N up to %d, M from 2 to %d; /roll alone is 1d6), "+
			"/who lists the users of this room, /help shows this.", b.opts.MaxDice, b.opts.MaxSides), true
	}
	return "", false
}

// roll throws the dice that arg describes, for name.
func (b *Bot) roll(name, arg string) string {
	if arg == "" {
		arg = "1d6"
	}
	n, m, ok := parseDice(arg)
	if !ok || n < 1 || n > b.opts.MaxDice || m < 2 || m > b.opts.MaxSides {
		return fmt.Sprintf("usage: /roll NdM, N dice (1 to %d) of M sides (2 to %d), for example /roll 2d6",
			b.opts.MaxDice, b.opts.MaxSides)
	}
	throws := make([]string, n)
	total := 0
	for i := range throws {
		v := b.opts.Rand(m) + 1
		total += v
		throws[i] = strconv.Itoa(v)
	}
	if n == 1 {
		return fmt.Sprintf("%s rolled %dd%d: %d", name, n, m, total)
	}
	return fmt.Sprintf("%s rolled %dd%d: %s = %d", name, n, m, strings.Join(throws, " + "), total)
}

// parseDice parses "NdM" or "dM" (N = 1), N and M decimal digits only.
func parseDice(s string) (n, m int, ok bool) {
	ns, ms, found := strings.Cut(strings.ToLower(s), "d")
	if !found {
		return 0, 0, false
	}
	if ns == "" {
		ns = "1"
	}
	n, okN := number(ns)
	m, okM := number(ms)
	return n, m, okN && okM
}

// number parses 1 to 6 decimal digits: no sign, no spaces, no overflow.
func number(s string) (int, bool) {
	if len(s) == 0 || len(s) > 6 {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// who lists the room's user list from the current state: everyone who
// entered and has not left (including users in their grace period).
func (b *Bot) who(room string) string {
	var users []actions.User
	if r := b.store.GetState().Room(room); r != nil {
		users = r.UserList()
	}
	if len(users) == 0 {
		return "nobody is here"
	}
	names := make([]string, 0, min(len(users), maxWho))
	for _, u := range users[:min(len(users), maxWho)] {
		names = append(names, u.Username)
	}
	s := fmt.Sprintf("%d in %s: %s", len(users), room, strings.Join(names, ", "))
	if len(users) > maxWho {
		s += fmt.Sprintf(" and %d more", len(users)-maxWho)
	}
	return s
}

// username returns the name user entered room with, or its id.
func (b *Bot) username(room, user string) string {
	if r := b.store.GetState().Room(room); r != nil {
		if p, ok := r.Presence(user); ok && p.User.Username != "" {
			return p.User.Username
		}
	}
	return user
}
