package transport_test

// Raw WebSocket helpers: handshakes and frames written by hand, to test
// what a library client would not send, and sockets that read slowly.

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
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/statecast/statecast/internal/chattest"
)

// dialStatus tries a WebSocket handshake on path with header h and returns
// the HTTP status of the answer (101 when the upgrade succeeded).
func dialStatus(t *testing.T, s *chattest.Server, path string, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.URL(path), &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		conn.CloseNow()
		return resp.StatusCode
	}
	if resp == nil {
		t.Fatalf("dial %s: no HTTP answer: %v", path, err)
	}
	return resp.StatusCode
}

// rawUpgrade sends a WebSocket upgrade request by hand, with any Host and
// optional Origin, and returns the status of the answer. The connection is
// closed before it returns.
func rawUpgrade(t *testing.T, s *chattest.Server, path, host, origin string) int {
	t.Helper()
	conn, _, resp := rawHandshake(t, s, path, host, origin)
	conn.Close()
	return resp.StatusCode
}

// rawHandshake sends an upgrade request on a fresh TCP connection and reads
// the HTTP answer. A 101 answer is checked against RFC 6455.
func rawHandshake(t *testing.T, s *chattest.Server, path, host, origin string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	return rawHandshakeWith(t, s, path, host, origin, nil)
}

// rawHandshakeWith is rawHandshake, with early (frames, say) sent in the
// same write as the request, before the answer is read.
func rawHandshakeWith(t *testing.T, s *chattest.Server, path, host, origin string, early []byte) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var keyBytes [16]byte
	rand.Read(keyBytes[:])
	key := base64.StdEncoding.EncodeToString(keyBytes[:])
	if host == "" {
		host = s.Addr().String()
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, host)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if origin != "" {
		fmt.Fprintf(&req, "Origin: %s\r\n", origin)
	}
	req.WriteString("\r\n")
	req.Write(early)
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake answer for %s: %v", path, err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
			t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
		}
	} else {
		resp.Body.Close()
	}
	conn.SetDeadline(time.Time{})
	return conn, br, resp
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one masked client frame (RFC 6455 5.2) with FIN set.
func writeFrame(w io.Writer, opcode byte, payload []byte) error {
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
func readFrame(r *bufio.Reader) (opcode byte, payload []byte, err error) {
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

// dialSmallBuffer opens a socket whose TCP receive buffer is tiny, so that
// a client that stops reading fills the path to it quickly.
func dialSmallBuffer(t *testing.T, s *chattest.Server, path string) *chattest.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return conn, err
	}}
	defer tr.CloseIdleConnections()
	return s.Dial(t, path, chattest.WithHTTPClient(&http.Client{Transport: tr}))
}

// newest reads the next frame and returns its event and, for
// messageWritten, the newest message. It decodes only the tail of a
// messageWritten frame (JSON scanning is slow under -race, and these frames
// are big), which is sound for messages that hold no "},{".
func newest(t *testing.T, c *chattest.Client) (ev, username, message string) {
	t.Helper()
	ev, username, message, err := tryNewest(c)
	if err != nil {
		t.Fatal(err)
	}
	return ev, username, message
}

func tryNewest(c *chattest.Client) (ev, username, message string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Conn().Read(ctx)
	if err != nil {
		return "", "", "", err
	}
	if typ != websocket.MessageText {
		return "", "", "", errors.New("binary frame from the server")
	}
	const head = `{"event":"messageWritten","messagesList":[`
	if !bytes.HasPrefix(b, []byte(head)) {
		var e struct{ Event string }
		if err := json.Unmarshal(b, &e); err != nil || e.Event == "" {
			return "", "", "", fmt.Errorf("frame %.80q is not a JSON object with an event", b)
		}
		return e.Event, "", "", nil
	}
	list := b[len(head)-1:]
	if !bytes.HasSuffix(list, []byte("]}")) {
		return "", "", "", fmt.Errorf("messageWritten frame ends with %q", b[max(0, len(b)-20):])
	}
	last := list[1 : len(list)-2]
	if i := bytes.LastIndex(last, []byte("},{")); i >= 0 {
		last = last[i+2:]
	}
	var m struct{ Username, Message string }
	if err := json.Unmarshal(last, &m); err != nil {
		return "", "", "", fmt.Errorf("newest message %.80q: %v", last, err)
	}
	return "messageWritten", m.Username, m.Message, nil
}

// dialHeader opens a socket to path with the handshake header h.
func dialHeader(t *testing.T, s *chattest.Server, path string, h http.Header) (*chattest.Client, error) {
	c, _, err := chattest.DialURL(t, s.URL(path), chattest.WithHeader(h))
	return c, err
}
