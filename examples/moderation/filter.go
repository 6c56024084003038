package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// CodeBannedWord is the error code of a message refused for a word the
// filter rejects. Clients see it in the `error` event.
const CodeBannedWord = "banned_word"

// Policy is what Filter does with a message that contains a listed word.
type Policy int

const (
	// Mask replaces the word with *** and lets the message through.
	Mask Policy = iota + 1
	// Reject refuses the whole message with CodeBannedWord; the sender gets
	// an `error` event, nobody else sees anything.
	Reject
)

// Filter returns a middleware that checks the text of chat messages, from
// sockets (TypeWriteMessage) and from server code (TypePostMessage),
// against words: a message containing a Reject word is refused, one
// containing only Mask words has each of them replaced with ***. Matching
// is case-insensitive and by whole words, a word being a run of letters
// and digits: "darn" matches "Darn!" and "DARN-it", not "darned".
// Usernames and every other action pass unchanged.
//
// Filter checks the list once, here: each word must be letters and digits
// only, listed once whatever its case, with a Policy of Mask or Reject.
//
// It changes messages after Validate ran (user middleware comes after
// every built-in), and a mask can make a message longer than the word it
// hides: install middleware.Validate again after it if that matters.
func Filter(words map[string]Policy) (store.Middleware, error) {
	list := make(map[string]Policy, len(words))
	for w, p := range words {
		if w == "" || strings.IndexFunc(w, func(r rune) bool { return !isWordRune(r) }) >= 0 {
			return nil, fmt.Errorf("moderation: %q is not a word of letters and digits", w)
		}
		if p != Mask && p != Reject {
			return nil, fmt.Errorf("moderation: %q has policy %d, want Mask or Reject", w, p)
		}
		key := strings.ToLower(w)
		if _, dup := list[key]; dup {
			return nil, fmt.Errorf("moderation: %q is listed twice", key)
		}
		list[key] = p
	}
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			switch p := a.Payload.(type) {
			case actions.WriteMessage:
				text, err := check(list, p.Message)
				if err != nil {
					return err
				}
				p.Message = text
				a.Payload = p
			case actions.PostMessage:
				text, err := check(list, p.Message)
				if err != nil {
					return err
				}
				p.Message = text
				a.Payload = p
			}
			return next(ctx, a)
		}
	}, nil
}

// check returns text with its Mask words masked, or the rejection of its
// first Reject word. It returns text itself when nothing is masked.
func check(list map[string]Policy, text string) (string, error) {
	var b strings.Builder
	done := 0 // text[:done] is in b
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		end := i + size
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if !isWordRune(r) {
				break
			}
			end += size
		}
		switch list[strings.ToLower(text[i:end])] {
		case Reject:
			return "", &actions.Error{Code: CodeBannedWord,
				Message: fmt.Sprintf("%q is not allowed here; the message was not sent", text[i:end])}
		case Mask:
			b.WriteString(text[done:i])
			b.WriteString("***")
			done = end
		}
		i = end
	}
	if done == 0 {
		return text, nil
	}
	b.WriteString(text[done:])
	return b.String(), nil
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
