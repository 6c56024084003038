package transport_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestDeadPeerIsNoticed: a peer that completed the handshake and connected
// but never answers pings is dropped, and its user leaves the room after
// the grace period; a live peer stays.
func TestDeadPeerIsNoticed(t *testing.T) {
	const interval, timeout, grace = 300 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond
	s := chattest.Start(t, server.Config{Transport: transport.Config{PingInterval: interval, PingTimeout: timeout}, Grace: grace})
	ann, _ := s.Join(t, "/chat", "ann", "ann")

	start := time.Now()
	conn, br, resp := rawHandshake(t, s, "/chat", "", "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	if err := writeFrame(conn, 0x1, []byte(`{"event":"connecting","id":"ghost","username":"ghost"}`)); err != nil {
		t.Fatal(err)
	}
	if j := ann.Expect("joined"); j.Str("id") != "ghost" {
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
			op, payload, err := readFrame(br)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
					ended <- peerEnd{pings, fmt.Errorf("%w, want the server to close the connection", err)}
				} else {
					ended <- peerEnd{pings, nil}
				}
				return
			}
			switch {
			case first:
				var e chattest.Event
				if op != 0x1 || json.Unmarshal(payload, &e) != nil || e.Str("event") != "connected" {
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
	if d := ann.Expect("disconnected"); d.Str("id") != "ghost" {
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
	ann.Say("still alive")
	expectMessage(t, ann, "ann", "still alive")
	conn.Close()
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}
