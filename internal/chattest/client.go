package chattest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// V2Protocol is the WebSocket subprotocol of the v2 dialect.
const V2Protocol = "statecast.v2"

// Client is a real WebSocket client of a statecast server. It is not safe
// for concurrent use, except Close and CloseNow.
type Client struct {
	t    testing.TB
	conn *websocket.Conn
	v2   bool
	// Name names the client in failure messages (JoinV2 sets the username).
	Name string
	// ID and Token are the user id and resume token of a v2 client's last
	// snapshot or resumed; LastSeq is the seq of the last change its
	// mirror holds.
	ID, Token string
	LastSeq   uint64
	mirror    *mirror
}

// DialOption configures Dial and DialURL.
type DialOption func(*websocket.DialOptions)

// WithHeader sends h with the handshake (for example an Origin).
func WithHeader(h http.Header) DialOption {
	return func(o *websocket.DialOptions) { o.HTTPHeader = h }
}

// WithHTTPClient makes the handshake with hc (for example one whose
// sockets have a small receive buffer).
func WithHTTPClient(hc *http.Client) DialOption {
	return func(o *websocket.DialOptions) { o.HTTPClient = hc }
}

// V2 offers the statecast.v2 subprotocol; Dial then fails the test unless
// the server selected it.
func V2() DialOption { return Subprotocols(V2Protocol) }

// Subprotocols offers the given WebSocket subprotocols.
func Subprotocols(p ...string) DialOption {
	return func(o *websocket.DialOptions) { o.Subprotocols = p }
}

// Dial opens a socket to path (for example "/chat/lobby") and fails the
// test on an error. A socket offered V2 must get it.
func (s *Server) Dial(t testing.TB, path string, opts ...DialOption) *Client {
	t.Helper()
	c, _, err := DialURL(t, s.URL(path), opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	var o websocket.DialOptions
	for _, opt := range opts {
		opt(&o)
	}
	for _, p := range o.Subprotocols {
		if p == V2Protocol && !c.v2 {
			t.Fatalf("dial %s offering %s: server selected subprotocol %q", path, V2Protocol, c.conn.Subprotocol())
		}
	}
	return c
}

// DialURL opens a socket to url within Timeout and returns the error and
// the handshake's response instead of failing the test: for tests of
// refused handshakes. The socket closes when the test ends. A client whose
// server selected statecast.v2 keeps a mirror.
func DialURL(t testing.TB, url string, opts ...DialOption) (*Client, *http.Response, error) {
	var o websocket.DialOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &o)
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	c := &Client{t: t, conn: conn, v2: conn.Subprotocol() == V2Protocol}
	if c.v2 {
		c.mirror = &mirror{}
	}
	return c, resp, nil
}

// Conn returns the underlying socket, for tests of the wire itself.
func (c *Client) Conn() *websocket.Conn { return c.conn }

// Subprotocol returns the subprotocol the server selected.
func (c *Client) Subprotocol() string { return c.conn.Subprotocol() }

// Send writes v as one JSON text frame.
func (c *Client) Send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.SendRaw(websocket.MessageText, b)
}

// SendRaw writes b as one frame of type typ.
func (c *Client) SendRaw(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("%swrite: %v", c.prefix(), err)
	}
}

// Say sends a writeMessage with text.
func (c *Client) Say(text string) {
	c.t.Helper()
	c.Send(map[string]any{"event": "writeMessage", "message": text})
}

// SayID sends a writeMessage with text and clientID.
func (c *Client) SayID(text, clientID string) {
	c.t.Helper()
	c.Send(map[string]any{"event": "writeMessage", "message": text, "clientId": clientID})
}

// NextWithin reads the next frame within d. It returns the read's error
// (the socket's end, or context.DeadlineExceeded, after which the socket is
// closed) and fails the test for a
// frame that is not a JSON text object with a string event. On a v2 client
// the frame also goes to the mirror (see Client).
func (c *Client) NextWithin(d time.Duration) (Event, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("%sserver sent a binary frame", c.prefix())
	}
	e, err := ParseEvent(b)
	if err != nil {
		c.t.Fatalf("%s%v", c.prefix(), err)
	}
	if c.v2 {
		c.handleV2(e)
	}
	return e, nil
}

// Next reads the next frame and fails the test if none comes within
// Timeout.
func (c *Client) Next() Event {
	c.t.Helper()
	e, err := c.NextWithin(Timeout)
	if err != nil {
		c.t.Fatalf("%sreading: %v", c.prefix(), err)
	}
	return e
}

// Expect reads the next frame and fails the test unless it is the named
// event.
func (c *Client) Expect(name string) Event {
	c.t.Helper()
	e, err := c.NextWithin(Timeout)
	if err != nil {
		c.t.Fatalf("%swaiting for %s: %v", c.prefix(), name, err)
	}
	if e.Name() != name {
		c.t.Fatalf("%sgot %v, want event %s", c.prefix(), e, name)
	}
	return e
}

// Await reads frames until one matches, for at most Timeout in all, and
// returns it.
func (c *Client) Await(match func(Event) bool) Event {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		e, err := c.NextWithin(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("%swaiting for a frame: %v", c.prefix(), err)
		}
		if match(e) {
			return e
		}
	}
}

// NoFrameWithin fails the test if a frame arrives, or the socket ends,
// within d. The socket is closed afterwards: a read that times out ends the
// connection.
func (c *Client) NoFrameWithin(d time.Duration) {
	c.t.Helper()
	e, err := c.NextWithin(d)
	if err == nil {
		c.t.Fatalf("%sexpected no frame, got %v", c.prefix(), e)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		c.t.Fatalf("%sexpected no frame, socket ended: %v", c.prefix(), err)
	}
}

// CloseStatus reads until the socket ends, for at most Timeout per frame,
// and returns its close code (-1 if it ended without one).
func (c *Client) CloseStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.NextWithin(Timeout); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// ExpectClose reads until the socket ends and fails the test unless the
// server closed it with code.
func (c *Client) ExpectClose(code websocket.StatusCode) {
	c.t.Helper()
	if got := c.CloseStatus(); got != code {
		c.t.Fatalf("%sclose status %v, want %v", c.prefix(), got, code)
	}
}

// Close closes the socket with 1000 (normal closure), waiting for the
// server's close frame.
func (c *Client) Close() error { return c.conn.Close(websocket.StatusNormalClosure, "") }

// CloseNow drops the connection without a close handshake.
func (c *Client) CloseNow() error { return c.conn.CloseNow() }

func (c *Client) prefix() string {
	if c.Name == "" {
		return ""
	}
	return c.Name + ": "
}
