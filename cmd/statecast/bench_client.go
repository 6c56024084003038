package main

import (
	"context"
	"encoding/json"
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
// (actions.Subprotocol; repeated here so the bench stays a pure client).
const v2Subprotocol = "statecast.v2"

// benchDialer opens the bench's sockets: directly (no proxy), to loopback
// addresses only, without compression.
type benchDialer struct {
	v2        bool
	transport *http.Transport
	client    *http.Client
}

func newBenchDialer(c benchConfig) *benchDialer {
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       dialLoopback,
		DisableKeepAlives: true,
	}
	return &benchDialer{v2: c.v2(), transport: tr, client: &http.Client{Transport: tr}}
}

func (d *benchDialer) close() { d.transport.CloseIdleConnections() }

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
		return nil, fmt.Errorf("%s is not a loopback address: the bench only targets this machine", c.RemoteAddr())
	}
	return c, nil
}

// dial opens one socket to url, offering statecast.v2 in the v2 dialect.
func (d *benchDialer) dial(ctx context.Context, url string) (*websocket.Conn, error) {
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

// connectingFrame is the client's `connecting` event.
func connectingFrame(id, name string) []byte {
	b := []byte(`{"event":"connecting","id":`)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"username":`...)
	b = strconv.AppendQuote(b, name)
	return append(b, '}')
}

// writeFrame appends a `writeMessage` event carrying text (a marker and
// ASCII padding: no escapes needed) to b. The seed trusts username;
// statecast ignores it.
func writeFrame(b []byte, name string, text []byte) []byte {
	b = append(b, `{"event":"writeMessage","username":`...)
	b = strconv.AppendQuote(b, name)
	b = append(b, `,"message":"`...)
	b = append(b, text...)
	return append(b, `"}`...)
}

// padText pads a marker with a space and x's to size bytes.
func padText(b []byte, size int) []byte {
	if len(b) >= size {
		return b
	}
	b = append(b, ' ')
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

// join dials url, sends `connecting` and reads until the server answers
// `connected` (v1) or `snapshot` (v2). It skips non-JSON frames (the seed
// peer first sends the text "success connected") and events for others.
// seq is the snapshot's seq in v2. buf is storage for frames.
func (d *benchDialer) join(ctx context.Context, url, id, name string, buf []byte) (ws *websocket.Conn, seq uint64, _ []byte, err error) {
	if ws, err = d.dial(ctx, url); err != nil {
		return nil, 0, buf, err
	}
	defer func() {
		if err != nil {
			ws.CloseNow()
		}
	}()
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

// decodeEvent is the slow path of frameEvent: it decodes the frame.
func decodeEvent(b []byte) ([]byte, bool) {
	var f struct {
		Event string `json:"event"`
	}
	if json.Unmarshal(b, &f) != nil {
		return nil, false
	}
	return []byte(f.Event), true
}

// wireError is an `error` event.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref"`
}

func decodeError(b []byte) wireError {
	var e wireError
	json.Unmarshal(b, &e)
	return e
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
