package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// PROTOCOL.md, "Endpoint", close codes (rule 6), "Fine print" and "Where
// the seed server differs", end to end against a real server.

// --- helpers ---------------------------------------------------------------

// dialStatus tries a WebSocket handshake on path with header h and returns
// the HTTP status of the answer (101 when the upgrade succeeded).
func (s *testServer) epDialStatus(path string, h http.Header) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.url(path), &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		conn.CloseNow()
		return resp.StatusCode
	}
	if resp == nil {
		s.t.Fatalf("dial %s: no HTTP answer: %v", path, err)
	}
	return resp.StatusCode
}

// rawUpgrade sends a WebSocket upgrade request by hand, with any Host and
// optional Origin, and returns the status of the answer. The connection is
// closed before it returns.
func (s *testServer) epRawUpgrade(path, host, origin string) int {
	s.t.Helper()
	conn, _, resp := s.epRawHandshake(path, host, origin)
	conn.Close()
	return resp.StatusCode
}

// rawHandshake sends an upgrade request on a fresh TCP connection and reads
// the HTTP answer. A 101 answer is checked against RFC 6455.
func (s *testServer) epRawHandshake(path, host, origin string) (net.Conn, *bufio.Reader, *http.Response) {
	s.t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var keyBytes [16]byte
	rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])
	if host == "" {
		host = s.addr
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, host)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if origin != "" {
		fmt.Fprintf(&req, "Origin: %s\r\n", origin)
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		s.t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		s.t.Fatalf("reading the handshake answer for %s: %v", path, err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), epAcceptKey(key); got != want {
			s.t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
		}
	} else {
		resp.Body.Close()
	}
	conn.SetDeadline(time.Time{})
	return conn, br, resp
}

func epAcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one masked client frame (RFC 6455 5.2) with FIN set.
func epWriteFrame(w io.Writer, opcode byte, payload []byte) error {
	var hdr []byte
	hdr = append(hdr, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := w.Write(append(hdr, masked...))
	return err
}

// readFrame reads one (unmasked, unfragmented) server frame.
func epReadFrame(r *bufio.Reader) (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 {
		return 0, nil, errors.New("fragmented server frame")
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("masked server frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return h[0] & 0x0f, payload, err
}

// lastMessage returns the newest message of a messageWritten event.
func epLastMessage(t *testing.T, e event) (username, message string) {
	t.Helper()
	l := e.list("messagesList")
	if len(l) == 0 {
		t.Fatalf("messageWritten without messages: %v", e)
	}
	m, _ := l[len(l)-1].(map[string]any)
	username, _ = m["username"].(string)
	message, _ = m["message"].(string)
	return username, message
}

// expectMessage reads the next frame, which must be the messageWritten of
// message by username.
func (c *client) epExpectMessage(username, message string) event {
	c.t.Helper()
	e := c.expect("messageWritten")
	if u, m := epLastMessage(c.t, e); u != username || m != message {
		c.t.Fatalf("newest message is %s: %.40q, want %s: %.40q", u, m, username, message)
	}
	return e
}

func (c *client) epSay(message string) {
	c.t.Helper()
	c.send(map[string]any{"event": "writeMessage", "message": message})
}

// until reads frames until the named event, skipping the presence events
// (joined, disconnected) on the way; any other frame fails the test.
func (c *client) epUntil(name string) event {
	c.t.Helper()
	for {
		e, err := c.next(5 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", name, err)
		}
		switch ev := e.str("event"); {
		case ev == name:
			return e
		case ev != "joined" && ev != "disconnected":
			c.t.Fatalf("got %v, want event %s", e, name)
		}
	}
}

// expectError reads the next frame, which must be an error with code.
func (c *client) epExpectError(code string) event {
	c.t.Helper()
	e := c.expect("error")
	if e.str("code") != code {
		c.t.Fatalf("error = %v, want code %s", e, code)
	}
	return e
}

// expectClose reads until the socket ends and fails unless it ended with
// the close code want.
func (c *client) epExpectClose(want websocket.StatusCode) {
	c.t.Helper()
	if got := c.closeStatus(); got != want {
		c.t.Fatalf("socket closed with %d, want %d", got, want)
	}
}

// --- room path ---------------------------------------------------------

func TestRoomPathsThatUpgrade(t *testing.T) {
	s := startServer(t)
	long := strings.Repeat("x", 64)
	for _, path := range []string{"/chat", "/chat/chat", "/chat/a-b_C9", "/chat/" + long, "/chat?room=x", "/chat/a-b_C9?room=chat"} {
		if got := s.epDialStatus(path, nil); got != http.StatusSwitchingProtocols {
			t.Errorf("dial %s: HTTP %d, want 101", path, got)
		}
		if got := s.epRawUpgrade(path, "", ""); got != http.StatusSwitchingProtocols {
			t.Errorf("upgrade %s: HTTP %d, want 101", path, got)
		}
	}
	// Each upgraded path is a working room.
	for i, path := range []string{"/chat/a-b_C9", "/chat/" + long} {
		c, _ := s.join(path, fmt.Sprint("u", i), "ann")
		c.epSay("hello " + path)
		c.epExpectMessage("ann", "hello "+path)
	}
}

func TestRoomPathsRefusedBeforeUpgrade(t *testing.T) {
	s := startServer(t)
	for _, path := range []string{
		"/chat/",
		"/chat/a%20b",
		"/chat/a.b",
		"/chat/" + strings.Repeat("x", 65),
		"/chat/chat/",
		"/chat/a/b",
		"/chat/%61", // "a", but the name is checked before %-decoding
		"/chat/a%2Fb",
		"/chat/é",
		"/chat/a.b?room=chat",
		"/chat/?room=chat",
	} {
		if got := s.epDialStatus(path, nil); got != http.StatusBadRequest {
			t.Errorf("dial %s: HTTP %d, want 400", path, got)
		}
		if got := s.epRawUpgrade(path, "", ""); got != http.StatusBadRequest {
			t.Errorf("upgrade %s: HTTP %d, want 400", path, got)
		}
	}
	// The server is still fine.
	c, _ := s.join("/chat", "1", "ann")
	c.epSay("still here")
	c.epExpectMessage("ann", "still here")
}

// TestRoomPathNamesTheRoom: /chat and /chat/chat are one room, the query
// never matters, and other names are other rooms.
func TestRoomPathNamesTheRoom(t *testing.T) {
	s := startServer(t)
	ann, _ := s.join("/chat", "ann", "ann")
	bob, hello := s.join("/chat/chat", "bob", "bob")
	if got := len(hello.list("connectedUserList")); got != 2 {
		t.Fatalf("/chat/chat sees %d users, want ann and bob: %v", got, hello)
	}
	if j := ann.expect("joined"); j.str("id") != "bob" {
		t.Fatalf("joined = %v, want bob", j)
	}
	cat, hello := s.join("/chat?room=other", "cat", "cat")
	if got := len(hello.list("connectedUserList")); got != 3 {
		t.Fatalf("/chat?room=other sees %d users, want 3 (room chat): %v", got, hello)
	}
	for _, c := range []*client{ann, bob} {
		if j := c.expect("joined"); j.str("id") != "cat" {
			t.Fatalf("joined = %v, want cat", j)
		}
	}
	// Room other is empty and separate; its query cannot move it to chat.
	dan, hello := s.join("/chat/other?room=chat", "dan", "dan")
	if got := len(hello.list("connectedUserList")); got != 1 {
		t.Fatalf("room other sees %d users, want only dan: %v", got, hello)
	}
	dan.epSay("in other")
	dan.epExpectMessage("dan", "in other")
	cat.epSay("in chat")
	for _, c := range []*client{ann, bob, cat} {
		e := c.epExpectMessage("cat", "in chat")
		if n := len(e.list("messagesList")); n != 1 {
			t.Fatalf("room chat has %d messages, want 1 (the other room's stay there)", n)
		}
	}
}

// --- origin ------------------------------------------------------------

func TestOriginEndToEnd(t *testing.T) {
	s := startServer(t)
	_, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	otherPort := strconv.Itoa(p + 1)
	tests := []struct {
		host, origin string
		want         int
	}{
		{"", "", 101},                 // not a browser
		{"", "http://" + s.addr, 101}, // same origin
		{"chat.example.com:" + port, "http://chat.example.com:" + port, 101},
		{"chat.example.com:" + port, "https://chat.example.com:" + port, 101}, // scheme ignored
		{"chat.example.com:" + port, "http://chat.example.com:" + otherPort, 403},
		{"example.com:80", "http://example.com", 101},      // default port made explicit
		{"example.com", "http://example.com:80", 101},      // ... both ways
		{"example.com", "https://example.com", 403},        // 443 is not 80
		{"chat.example.com", "http://localhost:3000", 101}, // loopback, any port
		{"chat.example.com", "http://127.0.0.1:5173", 101}, // loopback
		{"chat.example.com", "http://[::1]:8080", 101},     // loopback
		{"", "http://localhost.evil.example", 403},         // not loopback
		{"", "http://localhost.evil.example:" + port, 403}, // not loopback
		{"", "http://evil.example", 403},                   // foreign
		{"", "null", 403},                                  // not configured
		{"", "https://chat.example.com", 403},              // not configured
		{"chat.example.com:" + port, "http://evil.example:" + port, 403},
	}
	for _, tt := range tests {
		if got := s.epRawUpgrade("/chat", tt.host, tt.origin); got != tt.want {
			t.Errorf("Host %q Origin %q: HTTP %d, want %d", tt.host, tt.origin, got, tt.want)
		}
	}
	// The coder/websocket client's own handshake agrees, and a refused
	// origin is answered before the upgrade: no socket, no session.
	if got := s.epDialStatus("/chat", http.Header{"Origin": {"http://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("dial with a foreign origin: HTTP %d, want 403", got)
	}
	if got := s.epDialStatus("/chat", http.Header{"Origin": {"http://localhost:3000"}}); got != http.StatusSwitchingProtocols {
		t.Errorf("dial with a loopback origin: HTTP %d, want 101", got)
	}
	c, err := s.dialHeader("/chat", http.Header{"Origin": {"http://localhost:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"event": "connecting", "id": "1", "username": "ann"})
	c.expect("connected")
}

func TestOriginConfigured(t *testing.T) {
	s := startServer(t, "-allowed-origins", "*.example.com, null")
	tests := []struct {
		origin string
		want   int
	}{
		{"https://chat.example.com", 101},
		{"http://a.example.com", 101},
		{"null", 101},
		{"https://example.com", 403},
		{"https://chat.example.com.evil.example", 403},
		{"http://evil.example", 403},
		{"http://localhost:3000", 101},
	}
	for _, tt := range tests {
		if got := s.epRawUpgrade("/chat", "", tt.origin); got != tt.want {
			t.Errorf("Origin %q: HTTP %d, want %d", tt.origin, got, tt.want)
		}
	}
	c, err := s.dialHeader("/chat", http.Header{"Origin": {"https://chat.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"event": "connecting", "id": "1", "username": "ann"})
	c.expect("connected")

	only := startServer(t, "-allowed-origins", "null")
	if got := only.epRawUpgrade("/chat", "", "null"); got != 101 {
		t.Errorf("-allowed-origins null, Origin null: HTTP %d, want 101", got)
	}
	if got := only.epRawUpgrade("/chat", "", "https://chat.example.com"); got != 403 {
		t.Errorf("-allowed-origins null, Origin https://chat.example.com: HTTP %d, want 403", got)
	}
}

// --- close codes -------------------------------------------------------

func TestBinaryFrameCloses1003(t *testing.T) {
	s := startServer(t, "-grace", "100ms")
	// Before connecting.
	c := s.dial("/chat")
	c.sendRaw(websocket.MessageBinary, []byte(`{"event":"connecting","id":"1","username":"ann"}`))
	c.epExpectClose(websocket.StatusUnsupportedData)

	// After connecting; the room is told the user left, and keeps working.
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")
	bob.sendRaw(websocket.MessageBinary, []byte{0, 1, 2})
	bob.epExpectClose(websocket.StatusUnsupportedData)
	if d := ann.expect("disconnected"); d.str("id") != "bob" {
		t.Fatalf("disconnected = %v, want bob", d)
	}
	ann.epSay("after")
	ann.epExpectMessage("ann", "after")
}

func TestFrameLimitDefault64KiB(t *testing.T) {
	// The message limit is raised above the frame's, so that the frame
	// limit is what this test meets.
	s := startServer(t, "-grace", "100ms", "-max-message", "70000")
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")

	// Exactly 64 KiB is allowed: a message of 64 KiB of frame.
	frame := []byte(`{"event":"writeMessage","message":"`)
	text := strings.Repeat("a", 64<<10-len(frame)-2)
	frame = append(append(frame, text...), `"}`...)
	if len(frame) != 64<<10 {
		t.Fatalf("frame is %d bytes", len(frame))
	}
	bob.sendRaw(websocket.MessageText, frame)
	for _, c := range []*client{ann, bob} {
		c.epExpectMessage("bob", text)
	}
	// One byte more closes the socket with 1009; nobody gets the message.
	big := append([]byte(`{"event":"writeMessage","message":"b`), frame[len(`{"event":"writeMessage","message":"`):]...)
	if len(big) != 64<<10+1 {
		t.Fatalf("frame is %d bytes", len(big))
	}
	bob.sendRaw(websocket.MessageText, big)
	bob.epExpectClose(websocket.StatusMessageTooBig)
	ann.expect("disconnected")
	ann.epSay("next")
	e := ann.epExpectMessage("ann", "next")
	if n := len(e.list("messagesList")); n != 2 {
		t.Fatalf("history has %d messages, want 2 (the too big one was not stored)", n)
	}
}

func TestFrameLimitConfigured(t *testing.T) {
	s := startServer(t, "-frame-limit", "1024")
	ann, _ := s.join("/chat", "ann", "ann")

	ok := append([]byte(`{"event":"nope"}`), bytes.Repeat([]byte(" "), 1024-16)...)
	ann.sendRaw(websocket.MessageText, ok)
	ann.epExpectError("unknown_event")

	ann.epSay(strings.Repeat("x", 2048))
	ann.epExpectClose(websocket.StatusMessageTooBig)

	// Also before connecting, with a frame that is not even JSON.
	c := s.dial("/chat")
	c.sendRaw(websocket.MessageText, bytes.Repeat([]byte("!"), 2048))
	c.epExpectClose(websocket.StatusMessageTooBig)
}

// TestGracefulShutdown: every open socket, in every room and connected or
// not, is closed with 1001 after the frames already queued for it, and the
// server stops accepting.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t)
	var inChat, inOther []*client
	for i := range 3 {
		c, _ := s.join("/chat", fmt.Sprint("c", i), fmt.Sprint("chat", i))
		inChat = append(inChat, c)
	}
	for i := range 2 {
		c, _ := s.join("/chat/other", fmt.Sprint("o", i), fmt.Sprint("other", i))
		inOther = append(inOther, c)
	}
	idle := s.dial("/chat") // never sent connecting
	// Messages written just before the shutdown: the server has applied
	// them (their writers have their echo) but the others have not read them.
	inChat[0].epSay("last words")
	if u, m := epLastMessage(t, inChat[0].epUntil("messageWritten")); u != "chat0" || m != "last words" {
		t.Fatalf("echo = %s: %s", u, m)
	}
	inOther[1].epSay("bye")
	inOther[1].epExpectMessage("other1", "bye")

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()

	check := func(c *client, name string, want ...string) {
		t.Helper()
		var got []string
		for {
			e, err := c.next(5 * time.Second)
			if err != nil {
				if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
					t.Errorf("%s: socket ended with %d (%v), want 1001", name, st, err)
				}
				break
			}
			switch e.str("event") {
			case "joined":
				continue
			case "messageWritten":
				u, m := epLastMessage(t, e)
				got = append(got, u+": "+m)
			default:
				got = append(got, e.str("event"))
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s got %q before the close, want %q", name, got, want)
		}
	}
	check(inChat[0], "chat0")
	check(inChat[1], "chat1", "chat0: last words")
	check(inChat[2], "chat2", "chat0: last words")
	check(inOther[0], "other0", "other1: bye")
	check(inOther[1], "other1")
	check(idle, "idle socket")

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	if _, err := s.dialHeader("/chat", nil); err == nil {
		t.Fatal("the server still accepts sockets after shutdown")
	}
}

// --- keepalive ---------------------------------------------------------

// TestDeadPeerIsNoticed: a peer that completed the handshake and connected
// but never answers pings is dropped, and its user leaves the room after
// the grace period; a live peer stays.
func TestDeadPeerIsNoticed(t *testing.T) {
	const interval, timeout, grace = 300 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond
	s := startServer(t, "-ping-interval", interval.String(), "-ping-timeout", timeout.String(), "-grace", grace.String())
	ann, _ := s.join("/chat", "ann", "ann")

	start := time.Now()
	conn, br, resp := s.epRawHandshake("/chat", "", "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	if err := epWriteFrame(conn, 0x1, []byte(`{"event":"connecting","id":"ghost","username":"ghost"}`)); err != nil {
		t.Fatal(err)
	}
	if j := ann.expect("joined"); j.str("id") != "ghost" {
		t.Fatalf("joined = %v, want ghost", j)
	}
	// The dead peer reads (it sees its connected and the pings) but never
	// answers a ping; the server must close the TCP connection. ann keeps
	// reading meanwhile, so that she answers her own pings.
	type peerEnd struct {
		pings int
		err   error // nil: the server closed the connection
	}
	ended := make(chan peerEnd, 1)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	go func() {
		var pings int
		for first := true; ; first = false {
			op, payload, err := epReadFrame(br)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !epIsReset(err) {
					ended <- peerEnd{pings, fmt.Errorf("%w, want the server to close the connection", err)}
				} else {
					ended <- peerEnd{pings, nil}
				}
				return
			}
			switch {
			case first:
				var e event
				if op != 0x1 || json.Unmarshal(payload, &e) != nil || e.str("event") != "connected" {
					ended <- peerEnd{pings, fmt.Errorf("first frame: opcode %d %q, want connected", op, payload)}
					return
				}
			case op == 0x9:
				pings++
			case op == 0x8:
				// A close frame may come before the connection drops.
			default:
				ended <- peerEnd{pings, fmt.Errorf("unexpected frame: opcode %d %q", op, payload)}
				return
			}
		}
	}()
	if d := ann.expect("disconnected"); d.str("id") != "ghost" {
		t.Fatalf("disconnected = %v, want ghost", d)
	}
	if el := time.Since(start); el < interval+timeout {
		t.Fatalf("dead peer dropped after %v, before ping interval + timeout", el)
	}
	end := <-ended
	if end.err != nil {
		t.Fatalf("dead peer: %v", end.err)
	}
	if end.pings == 0 {
		t.Fatal("the server never pinged the dead peer")
	}
	// ann answered every ping while she read: still connected and chatting.
	ann.epSay("still alive")
	ann.epExpectMessage("ann", "still alive")
	conn.Close()
}

func epIsReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// --- where the seed server differs --------------------------------------

// TestNoNonJSONFrame: the seed sends the text "success connected" first;
// statecast sends nothing before `connected`, and only JSON objects.
func TestNoNonJSONFrame(t *testing.T) {
	s := startServer(t)
	conn, br, resp := s.epRawHandshake("/chat", "", "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	if err := epWriteFrame(conn, 0x1, []byte(`{"event":"connecting","id":1700000000000,"username":"ann"}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, payload, err := epReadFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if op != 0x1 || json.Unmarshal(payload, &e) != nil {
		t.Fatalf("first frame: opcode %d %q, want a JSON object", op, payload)
	}
	if e["event"] != "connected" || e["id"] != "1700000000000" {
		t.Fatalf("first frame %q, want connected with id \"1700000000000\"", payload)
	}
	// An error reply is JSON too.
	if err := epWriteFrame(conn, 0x1, []byte(`not json`)); err != nil {
		t.Fatal(err)
	}
	op, payload, err = epReadFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	if op != 0x1 || json.Unmarshal(payload, &e) != nil || e["event"] != "error" || e["code"] != "invalid_json" {
		t.Fatalf("reply to invalid JSON: opcode %d %q", op, payload)
	}
	conn.Close()
}

// TestBadFramesDoNotKillTheServer: invalid JSON, non-objects and binary
// frames killed the seed's process; here they only concern their socket.
func TestBadFramesDoNotKillTheServer(t *testing.T) {
	s := startServer(t, "-grace", "100ms")
	ann, _ := s.join("/chat", "ann", "ann")
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")

	for _, f := range []string{`{`, `hello`, `[1,2]`, `"str"`, `42`, `null`, `{"event":42}`, `{"event":"nope"}`} {
		bob.sendRaw(websocket.MessageText, []byte(f))
		bob.expect("error")
	}
	bob.epSay("bob is fine")
	for _, c := range []*client{ann, bob} {
		c.epExpectMessage("bob", "bob is fine")
	}
	bob.sendRaw(websocket.MessageBinary, []byte("{"))
	bob.epExpectClose(websocket.StatusUnsupportedData)
	ann.expect("disconnected")

	ann.epSay("ann is fine")
	ann.epExpectMessage("ann", "ann is fine")
	cat, hello := s.join("/chat", "cat", "cat")
	if n := len(hello.list("messagesList")); n != 2 {
		t.Fatalf("new client sees %d messages, want 2", n)
	}
	if j := ann.expect("joined"); j.str("id") != "cat" {
		t.Fatalf("joined = %v, want cat", j)
	}
	cat.epSay("cat is fine")
	for _, c := range []*client{ann, cat} {
		c.epExpectMessage("cat", "cat is fine")
	}
}

// TestHugeMessageRefused: the seed stored a 2 MiB message and sent it to
// everyone; statecast's frame limit closes the sender with 1009 and nobody
// receives it.
func TestHugeMessageRefused(t *testing.T) {
	s := startServer(t, "-grace", "100ms")
	ann, _ := s.join("/chat", "ann", "ann")
	mal, _ := s.join("/chat", "mal", "mal")
	ann.expect("joined")

	b, _ := json.Marshal(map[string]any{"event": "writeMessage", "message": strings.Repeat("x", 2<<20)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The server may drop the connection before it has read the whole
	// frame, so the write itself may fail; the close code is what counts.
	_ = mal.conn.Write(ctx, websocket.MessageText, b)
	if st := mal.closeStatus(); st != websocket.StatusMessageTooBig {
		t.Fatalf("2 MiB message: socket closed with %d, want 1009", st)
	}
	// The next thing ann hears is mal leaving, then her own message, with
	// a history that never held the big one.
	if d := ann.expect("disconnected"); d.str("id") != "mal" {
		t.Fatalf("disconnected = %v, want mal", d)
	}
	ann.epSay("small")
	if e := ann.epExpectMessage("ann", "small"); len(e.list("messagesList")) != 1 {
		t.Fatalf("history = %v, want only ann's message", e.list("messagesList"))
	}
	_, hello := s.join("/chat", "cat", "cat")
	if l := hello.list("messagesList"); len(l) != 1 {
		t.Fatalf("new client's history = %v, want only ann's message", l)
	}
}

// TestGracefulShutdownFlushesQueues: frames still waiting in the server's
// queue for a socket that lags behind are all written before its 1001.
func TestGracefulShutdownFlushesQueues(t *testing.T) {
	const total = 60
	s := startServer(t, "-history", "20", "-rate", "0", "-rate-per-address", "0") // 60 messages back to back
	lag := s.dialSmallBuffer("/chat")
	lag.send(map[string]any{"event": "connecting", "id": "lag", "username": "lag"})
	lag.expect("connected")
	ann, _ := s.join("/chat", "ann", "ann")

	// lag reads nothing while ann chats: its TCP buffers fill and the rest
	// waits in the server's queue (1024 frames by default: no 1013).
	text := func(i int) string { return fmt.Sprintf("%03d %s", i, strings.Repeat("y", 8<<10)) }
	for i := range total {
		ann.epSay(text(i))
		if ev, u, m := ann.newest(); ev != "messageWritten" || u != "ann" || m != text(i) {
			t.Fatalf("got %s %s: %.10q, want messageWritten ann: %.10q", ev, u, m, text(i))
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	// ann's queue is empty: her 1001 comes at once. Once she has it, the
	// server has begun closing every socket; then lag reads.
	ann.epExpectClose(websocket.StatusGoingAway)
	time.Sleep(100 * time.Millisecond)
	var got int
	for {
		ev, _, m, err := lag.tryNewest()
		if err != nil {
			if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
				t.Fatalf("lagging socket ended with %d (%v) after %d messages, want 1001", st, err, got)
			}
			break
		}
		switch ev {
		case "joined":
		case "messageWritten":
			if m != text(got) {
				t.Fatalf("lagging socket's message %d is %.10q, want %.10q", got, m, text(got))
			}
			got++
		default:
			t.Fatalf("lagging socket got %s", ev)
		}
	}
	if got != total {
		t.Fatalf("lagging socket got %d of %d messages before 1001", got, total)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestShutdownNotHeldUpByIdleConnection: a TCP connection that has not sent
// a request yet (a browser's preconnect) must not delay the sockets' 1001.
func TestShutdownNotHeldUpByIdleConnection(t *testing.T) {
	s := startServer(t)
	ann, _ := s.join("/chat", "ann", "ann")
	idle, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// Let the server accept it.
	bob, _ := s.join("/chat", "bob", "bob")
	ann.expect("joined")

	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.stop() }()
	for _, c := range []*client{ann, bob} {
		c.epExpectClose(websocket.StatusGoingAway)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the sockets got 1001 %v after the shutdown began", el)
	}
	idle.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
