package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// v2Subprotocol is the WebSocket subprotocol of the v2 dialect
// (actions.Subprotocol; repeated here so that the tool stays a pure client).
const v2Subprotocol = "statecast.v2"

// dialer opens the tool's sockets: directly (no proxy), to loopback
// addresses only, without compression.
type dialer struct {
	v2         bool
	centrifugo bool
	transport  *http.Transport
	client     *http.Client
}

func newDialer(c config) *dialer {
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       dialLoopback,
		DisableKeepAlives: true,
	}
	return &dialer{v2: c.v2(), centrifugo: c.dialect == "centrifugo", transport: tr, client: &http.Client{Transport: tr}}
}

func (d *dialer) close() { d.transport.CloseIdleConnections() }

// dialLoopback dials addr and refuses the connection unless its remote
// address is a loopback address (a "localhost" that resolves elsewhere).
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		c.Close()
		return nil, fmt.Errorf("%s is not a loopback address: the load test only targets this machine", c.RemoteAddr())
	}
	return c, nil
}

// dial opens one socket to url, offering statecast.v2 in the v2 dialect.
func (d *dialer) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	opts := &websocket.DialOptions{HTTPClient: d.client, CompressionMode: websocket.CompressionDisabled}
	if d.v2 {
		opts.Subprotocols = []string{v2Subprotocol}
	}
	ws, resp, err := websocket.Dial(ctx, url, opts)
	if resp != nil && resp.Body != nil && err != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	if d.v2 && ws.Subprotocol() != v2Subprotocol {
		ws.CloseNow()
		return nil, errors.New("the server did not select the statecast.v2 subprotocol: it speaks v1 only")
	}
	ws.SetReadLimit(-1) // v1 frames carry the whole history
	return ws, nil
}

// join dials url, sends `connecting` and reads until the server answers
// `connected` (v1) or `snapshot` (v2). It skips non-JSON frames (the seed
// peer first sends the text "success connected") and events for others.
// seq is the snapshot's seq in v2. buf is storage for frames.
func (d *dialer) join(ctx context.Context, url, id, name string, buf []byte) (ws *websocket.Conn, seq uint64, _ []byte, err error) {
	if ws, err = d.dial(ctx, url); err != nil {
		return nil, 0, buf, err
	}
	conn := ws // the returns below set ws to nil
	defer func() {
		if err != nil {
			conn.CloseNow()
		}
	}()
	if d.centrifugo {
		buf, err = d.joinCentrifugo(ctx, ws, url, name, buf)
		return ws, 0, buf, err
	}
	if err = ws.Write(ctx, websocket.MessageText, connectingFrame(id, name)); err != nil {
		return nil, 0, buf, err
	}
	want := "connected"
	if d.v2 {
		want = "snapshot"
	}
	for {
		if buf, err = readFrame(ctx, ws, buf); err != nil {
			return nil, 0, buf, fmt.Errorf("waiting for %s: %w", want, err)
		}
		ev, ok := frameEvent(buf)
		if !ok {
			if ev, ok = decodeEvent(buf); !ok {
				continue // not JSON
			}
		}
		switch string(ev) {
		case want:
			if d.v2 {
				eachField(buf, 0, func(key []byte, v, end int) bool {
					if string(key) == "seq" {
						seq, _ = strconv.ParseUint(string(buf[v:end]), 10, 64)
					}
					return true
				})
			}
			return ws, seq, buf, nil
		case "error":
			e := decodeError(buf)
			return nil, 0, buf, fmt.Errorf("connecting refused: %s: %s", e.Code, e.Message)
		}
	}
}

// joinCentrifugo connects and subscribes a Centrifugo client, and reads
// until the subscribe command is answered.
func (d *dialer) joinCentrifugo(ctx context.Context, ws *websocket.Conn, url, name string, buf []byte) ([]byte, error) {
	if err := ws.Write(ctx, websocket.MessageText, centrifugoJoin(name, channelOf(url))); err != nil {
		return buf, err
	}
	for {
		var err error
		if buf, err = readFrame(ctx, ws, buf); err != nil {
			return buf, fmt.Errorf("waiting for the subscription: %w", err)
		}
		if done, refused := centrifugoSubscribed(buf); refused != "" {
			return buf, fmt.Errorf("subscribing refused: %s", refused)
		} else if done {
			return buf, nil
		}
	}
}

// readFrame reads the next data frame into buf's storage, growing it as
// needed, and returns the frame. A frame that is not text is an error.
// With a context that never ends it costs no timer: end the read by
// closing the socket.
func readFrame(ctx context.Context, ws *websocket.Conn, buf []byte) ([]byte, error) {
	typ, r, err := ws.Reader(ctx)
	if err != nil {
		return buf[:0], err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if typ != websocket.MessageText {
		return buf, errors.New("the server sent a binary frame")
	}
	return buf, nil
}

// closeReason describes how a read ended: the close code, if any.
func closeReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return strconv.Itoa(int(code))
	}
	return "no close frame"
}

// closeAll closes the sockets, at most concurrency at once, each with a
// normal close bounded by a few seconds.
func closeAll(conns []*websocket.Conn, concurrency int) {
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, ws := range conns {
		if ws == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.AfterFunc(3*time.Second, func() { ws.CloseNow() })
			ws.Close(websocket.StatusNormalClosure, "")
			t.Stop()
			ws.CloseNow()
		})
	}
	wg.Wait()
}

// forEachConcurrently calls fn(0) … fn(n-1), at most limit at once, and
// returns the first error (the remaining calls still run).
func forEachConcurrently(ctx context.Context, n, limit int, fn func(i int) error) error {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}
