package server_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/store/chat"
)

// around returns the part of a around the first byte where it differs
// from b.
func around(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("…%s…", a[max(0, i-200):min(len(a), i+200)])
}

// stateOf returns the seq a node has applied and the canonical encoding of
// its state, or ok false if the node applied an action meanwhile.
func stateOf(t *testing.T, node *chattest.Server) (seq uint64, enc []byte, ok bool) {
	t.Helper()
	st := node.Store()
	seq = st.Seq()
	enc, err := chat.Codec{}.Encode(st.GetState())
	if err != nil {
		t.Fatalf("encoding a node's state: %v", err)
	}
	return seq, enc, st.Seq() == seq
}

// wantSameState waits until every node has applied the same seq and holds
// the same state there (the same sha256 of its canonical encoding), and
// fails if that does not happen within 30s.
func wantSameState(t *testing.T, nodes ...*chattest.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seqs := make([]uint64, len(nodes))
		encs := make([][]byte, len(nodes))
		same := true
		for i, n := range nodes {
			var ok bool
			seqs[i], encs[i], ok = stateOf(t, n)
			same = same && ok && seqs[i] == seqs[0] && bytes.Equal(encs[i], encs[0])
		}
		if same {
			t.Logf("every node (%d) at seq %d, state sha256 %x", len(nodes), seqs[0], sha256.Sum256(encs[0]))
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i := range nodes {
				fmt.Fprintf(&b, "\nnode %d: seq %d, sha256 %x", i, seqs[i], sha256.Sum256(encs[i]))
			}
			for i := 1; i < len(nodes); i++ {
				if seqs[i] == seqs[0] && !bytes.Equal(encs[i], encs[0]) {
					fmt.Fprintf(&b, "\nfirst difference of node 0 and node %d at the same seq:\n%s\n%s", i, around(encs[0], encs[i]), around(encs[i], encs[0]))
					break
				}
			}
			t.Fatalf("the nodes' states differ after 30s:%s", b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
