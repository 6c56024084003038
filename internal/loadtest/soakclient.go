package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// soakCounts are the soak's running totals, written by every actor:
// fresh joins; comebacks with the same id and token (a v2 resume, or a v1
// reload), and those a snapshot answered instead of `resumed`; writes
// sent; writes and connects refused (rate_limited, unavailable); sockets
// closed with 1013; connects that failed.
type soakCounts struct {
	Joins, Resumes, ResumedWithSnapshot, Writes, Refused, Closed1013, Failures atomic.Uint64
}

// soakClient is one user of the soak: it connects, reads every frame
// (keeping the seq it reached and its token) and can come back with the
// same id and token: a resume from its lastSeq in v2.
type soakClient struct {
	d      *dialer
	v1     bool
	url    string
	name   string
	id     string
	token  string
	seq    uint64
	counts *soakCounts
	ws     *websocket.Conn
}

// soakFrame is what the soak reads of a server frame.
type soakFrame struct {
	Event string `json:"event"`
	Seq   uint64 `json:"seq"`
	ID    string `json:"id"`
	Token string `json:"token"`
	Code  string `json:"code"`
}

// connect opens the socket and sends `connecting`: a resume (id, token,
// lastSeq) once the client has been connected, a fresh claim otherwise.
// It returns once the snapshot or `resumed` arrived.
func (c *soakClient) connect(ctx context.Context) error {
	ws, err := c.d.dial(ctx, c.url)
	if err != nil {
		return err
	}
	hello := map[string]any{"event": "connecting", "id": c.name, "username": c.name}
	resuming := c.id != ""
	if resuming {
		hello["id"], hello["token"] = c.id, c.token
		if !c.v1 {
			hello["lastSeq"] = c.seq
		}
	}
	b, _ := json.Marshal(hello)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		ws.CloseNow()
		return err
	}
	for {
		f, err := c.read(ctx, ws)
		if err != nil {
			ws.CloseNow()
			return err
		}
		switch f.Event {
		case "snapshot", "resumed", "connected":
			c.ws, c.id, c.token = ws, f.ID, f.Token
			if !c.v1 {
				c.seq = f.Seq
			}
			if resuming {
				c.counts.Resumes.Add(1)
				if f.Event == "snapshot" {
					c.counts.ResumedWithSnapshot.Add(1)
				}
			} else {
				c.counts.Joins.Add(1)
			}
			return nil
		case "error":
			ws.CloseNow()
			return fmt.Errorf("connecting refused: %s", f.Code)
		}
	}
}

// read reads one frame and follows the seq and token it carries.
func (c *soakClient) read(ctx context.Context, ws *websocket.Conn) (soakFrame, error) {
	_, b, err := ws.Read(ctx)
	if err != nil {
		if websocket.CloseStatus(err) == websocket.StatusTryAgainLater {
			c.counts.Closed1013.Add(1)
		}
		return soakFrame{}, err
	}
	var f soakFrame
	if json.Unmarshal(b, &f) != nil {
		return f, errors.New("a frame that is not JSON")
	}
	switch f.Event {
	case "patch":
		c.seq = max(c.seq, f.Seq)
	case "error":
		if f.Code == "rate_limited" || f.Code == "unavailable" {
			c.counts.Refused.Add(1)
		}
	}
	return f, nil
}

// readUntil reads frames until ctx ends (which drops the socket: the
// library closes a socket whose read is cut) or the socket fails.
func (c *soakClient) readUntil(ctx context.Context) {
	for {
		if _, err := c.read(ctx, c.ws); err != nil {
			return
		}
	}
}

// drop ends the socket without a close handshake, the way a lost network
// does; the next connect resumes.
func (c *soakClient) drop() {
	if c.ws != nil {
		c.ws.CloseNow()
		c.ws = nil
	}
}

// leave closes the socket normally and forgets the identity.
func (c *soakClient) leave() {
	if c.ws != nil {
		c.ws.Close(websocket.StatusNormalClosure, "bye")
		c.ws.CloseNow()
		c.ws = nil
	}
	c.id, c.token, c.seq = "", "", 0
}

// jitter returns a random duration in [d/2, 3d/2).
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

// sleepCtx waits d or until ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
