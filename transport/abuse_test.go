package transport_test

// Abuse: repeated bad frames close a socket with 1008, and a flood of
// malformed frames from many sockets must not disturb the chat.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// Abuse: repeated bad frames (1008), too slow a reader (1013), and a flood
// of malformed frames from many sockets that must not disturb the chat.

// TestRepeatedAbuseCloses1008: ten bad frames within the window leave the
// socket open, each answered with an error; the eleventh closes it with
// 1008 after its error. A good frame in between does not reset the count.
func TestRepeatedAbuseCloses1008(t *testing.T) {
	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
	ann, _ := s.Join(t, "/chat", "ann", "ann")
	c := s.Dial(t, "/chat")
	bad := []struct{ frame, code string }{
		{`{`, "invalid_json"},
		{`[1]`, "not_an_object"},
		{`"hi"`, "not_an_object"},
		{`{"event":"nope"}`, "unknown_event"},
		{`{"message":"x"}`, "missing_field"},
		{`{"event":7}`, "wrong_type"},
		{`{"event":"writeMessage","message":"x"}`, "not_connected"},
		{`{"event":"connecting","id":"m"}`, "missing_field"},
		{`{"event":"connecting","id":"m","username":3}`, "wrong_type"},
		{`{"event":"connecting","id":true,"username":"mal"}`, "wrong_type"},
	}
	for _, b := range bad {
		c.SendRaw(websocket.MessageText, []byte(b.frame))
		if e := c.Expect("error"); e.Str("code") != b.code {
			t.Fatalf("%s: error %v, want code %s", b.frame, e, b.code)
		}
	}
	// Ten bad frames: still open and usable.
	c.Send(map[string]any{"event": "connecting", "id": "mal", "username": "mal"})
	c.Expect("connected")
	ann.Expect("joined")
	c.Send(map[string]any{"event": "writeMessage", "message": "ten is fine"})
	for _, cl := range []*chattest.Client{ann, c} {
		expectMessage(t, cl, "mal", "ten is fine")
	}
	// The eleventh within the window closes with 1008, after its error.
	c.Send(map[string]any{"event": "connecting", "id": "mal", "username": "mal"})
	expectErrorCode(t, c, "already_connected")
	c.ExpectClose(websocket.StatusPolicyViolation)
	if d := ann.Expect("disconnected"); d.Str("id") != "mal" {
		t.Fatalf("disconnected = %v, want mal", d)
	}
	// Each socket counts on its own: ann is untouched.
	ann.Say("ann is fine")
	expectMessage(t, ann, "ann", "ann is fine")
}

// abuserKinds are the ways an abusive socket misbehaves, each until the
// server closes it.
var abuserKinds = []string{"invalid-json", "non-object", "unknown-event", "binary", "oversized", "connected-abuser"}

// abuse runs one abusive connection of kind and returns how it ended.
func abuse(ctx context.Context, url, kind string, n int) (websocket.StatusCode, error) {
	// The dial does not follow ctx: net/http keeps a connection whose dial
	// was cancelled for later use, and a connection that never sent a
	// request holds up the server's shutdown for 5s.
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	// Generous: on a loaded machine under -race a reply can take seconds.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// readUntilError reads until an error event (the reply to a bad frame)
	// or the end of the socket.
	readUntilError := func() (ended bool, code websocket.StatusCode) {
		for {
			typ, b, err := conn.Read(rctx)
			if err != nil {
				return true, websocket.CloseStatus(err)
			}
			var e map[string]any
			if typ != websocket.MessageText || json.Unmarshal(b, &e) != nil {
				return true, -2 // the server sent something it must not
			}
			if e["event"] == "error" {
				return false, 0
			}
		}
	}
	if kind == "connected-abuser" {
		id := fmt.Sprintf("abuser-%d", n)
		b, _ := json.Marshal(map[string]any{"event": "connecting", "id": id, "username": id})
		if err := conn.Write(rctx, websocket.MessageText, b); err != nil {
			return 0, nil
		}
		for {
			_, b, err := conn.Read(rctx)
			if err != nil {
				return websocket.CloseStatus(err), nil
			}
			if strings.Contains(string(b), `"connected"`) {
				break
			}
		}
	}
	for i := 0; ; i++ {
		var typ websocket.MessageType = websocket.MessageText
		var frame []byte
		switch kind {
		case "invalid-json":
			frame = []byte([]string{`{`, `{"event":}`, `}{`, "\xff", `{"event":"writeMessage","message":"x"`}[i%5])
		case "non-object":
			frame = []byte([]string{`[]`, `"writeMessage"`, `42`, `null`, `true`}[i%5])
		case "unknown-event", "connected-abuser":
			frame = []byte([]string{
				`{"event":"hack","message":"pwned"}`,
				`{"event":"writeMessage"}`,
				`{"event":"writeMessage","message":42}`,
				`{"event":"connecting","id":"good-0","username":""}`,
				`{"event":"WriteMessage","message":"x"}`,
			}[i%5])
		case "binary":
			typ, frame = websocket.MessageBinary, []byte(`{"event":"writeMessage","message":"binary"}`)
		case "oversized":
			frame = []byte(`{"event":"writeMessage","message":"` + strings.Repeat("o", 100<<10) + `"}`)
		}
		if err := conn.Write(rctx, typ, frame); err != nil {
			// The server may drop the socket while a big frame is on its
			// way; read what it said before.
			_, code := readUntilError()
			return code, nil
		}
		if ended, code := readUntilError(); ended {
			return code, nil
		}
	}
}

// TestFloodOfBadFrames is the acceptance test for abuse: several sockets
// flood malformed frames (invalid JSON, non-objects, unknown events, binary
// frames, oversized frames), reconnecting as they get closed, while four
// good clients chat. Every good message reaches every good client exactly
// once, in one common order, and the server stays up.
func TestFloodOfBadFrames(t *testing.T) {
	const good, each = 4, 50
	// Good clients write 50 messages each back to back, all from one
	// address: far above the rate limits, which are not under test here.
	s := chattest.Start(t, server.Config{RateLimit: noRateLimit})
	goods := make([]*chattest.Client, good)
	for i := range goods {
		goods[i], _ = s.Join(t, "/chat", fmt.Sprint("good-", i), fmt.Sprint("good", i))
	}

	// The abusers, until the good clients are done.
	ctx, stopAbuse := context.WithCancel(context.Background())
	defer stopAbuse()
	var (
		abuseWG sync.WaitGroup
		mu      sync.Mutex
		ends    = map[websocket.StatusCode]int{}
		conns   int
	)
	for a, kind := range append(abuserKinds, abuserKinds...) {
		abuseWG.Add(1)
		go func() {
			defer abuseWG.Done()
			for n := 0; ctx.Err() == nil; n++ {
				code, err := abuse(ctx, s.URL("/chat"), kind, a*10000+n)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					t.Errorf("abuser %s: %v", kind, err)
					return
				}
				mu.Lock()
				ends[code]++
				conns++
				mu.Unlock()
			}
		}()
	}

	// Let the flood get going before the chat starts.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := conns
		mu.Unlock()
		if n >= 2*len(abuserKinds) {
			break
		}
		if time.Now().After(deadline) {
			stopAbuse()
			abuseWG.Wait()
			t.Fatalf("only %d abusive sockets within 10s", n)
		}
	}

	// The good clients: each writes its messages while reading everything.
	received := make([][]string, good)
	lastLists := make([][]string, good)
	var wg sync.WaitGroup
	for i, c := range goods {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for k := range each {
				b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": fmt.Sprintf("m-%d-%02d", i, k), "username": "abuser"})
				wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := c.Conn().Write(wctx, websocket.MessageText, b)
				cancel()
				if err != nil {
					t.Errorf("good%d write %d: %v", i, k, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for len(received[i]) < good*each {
				rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				typ, b, err := c.Conn().Read(rctx)
				cancel()
				if err != nil {
					t.Errorf("good%d after %d messages: %v", i, len(received[i]), err)
					return
				}
				var e struct {
					Event        string `json:"event"`
					MessagesList []struct {
						Username string `json:"username"`
						Message  string `json:"message"`
					} `json:"messagesList"`
				}
				if typ != websocket.MessageText || json.Unmarshal(b, &e) != nil {
					t.Errorf("good%d got a frame that is not JSON: %.80q", i, b)
					return
				}
				switch e.Event {
				case "joined", "disconnected":
				case "messageWritten":
					if len(e.MessagesList) == 0 {
						t.Errorf("good%d: messageWritten without messages", i)
						return
					}
					m := e.MessagesList[len(e.MessagesList)-1]
					received[i] = append(received[i], m.Username+" "+m.Message)
					lastLists[i] = lastLists[i][:0]
					for _, m := range e.MessagesList {
						lastLists[i] = append(lastLists[i], m.Username+" "+m.Message)
					}
				default:
					t.Errorf("good%d got %.200s", i, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	stopAbuse()
	abuseWG.Wait()
	if t.Failed() {
		return
	}

	// Exactly once each, in one common order, each sender's in its order.
	want := map[string]bool{}
	for i := range good {
		for k := range each {
			want[fmt.Sprintf("good%d m-%d-%02d", i, i, k)] = true
		}
	}
	order := received[0]
	seen := map[string]bool{}
	next := make([]int, good)
	for _, m := range order {
		if !want[m] || seen[m] {
			t.Fatalf("good0 received %q: not a good message, or twice", m)
		}
		seen[m] = true
		var i, k int
		fmt.Sscanf(m[strings.IndexByte(m, ' ')+1:], "m-%d-%d", &i, &k)
		if k != next[i] {
			t.Fatalf("good%d's message %d arrived when %d was due", i, k, next[i])
		}
		next[i]++
	}
	for i := 1; i < good; i++ {
		if strings.Join(received[i], "\n") != strings.Join(order, "\n") {
			t.Fatalf("good%d received another order than good0", i)
		}
	}
	for i := range good {
		if strings.Join(lastLists[i], "\n") != strings.Join(order, "\n") {
			t.Fatalf("good%d's last messagesList is not the history", i)
		}
	}

	// The abusers were closed as the protocol says.
	mu.Lock()
	t.Logf("%d abusive sockets; their ends: %v", conns, ends)
	for _, code := range []websocket.StatusCode{websocket.StatusUnsupportedData, websocket.StatusPolicyViolation, websocket.StatusMessageTooBig} {
		if ends[code] == 0 {
			t.Errorf("no abusive socket was closed with %d: %v", code, ends)
		}
	}
	for code, n := range ends {
		switch code {
		case websocket.StatusUnsupportedData, websocket.StatusPolicyViolation, websocket.StatusMessageTooBig:
		default:
			t.Errorf("%d abusive sockets ended with %d", n, code)
		}
	}
	mu.Unlock()

	// The server is up, and its history is what the good clients saw.
	late, hello := s.Join(t, "/chat", "late", "late")
	var history []string
	for _, m := range hello.List("messagesList") {
		mm := m.(map[string]any)
		history = append(history, fmt.Sprint(mm["username"], " ", mm["message"]))
	}
	if strings.Join(history, "\n") != strings.Join(order, "\n") {
		t.Fatalf("a new client's history (%d messages) differs from what the good clients saw", len(history))
	}
	late.Say("done")
	// An abuser's grace period may end meanwhile: skip its disconnected.
	if u, m := lastMessage(t, until(t, late, "messageWritten")); u != "late" || m != "done" {
		t.Fatalf("newest message is %s: %q, want late: done", u, m)
	}
}
