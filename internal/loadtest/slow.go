package loadtest

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// drainSlow resumes reading a client that stopped reading, until the
// socket ends or 12 s passed (longer than statecast's 10 s write
// timeout), and tells how the server treated it.
func drainSlow(ws *websocket.Conn) SlowReader {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	defer ws.CloseNow()
	var buf []byte
	var err error
	n := 0
	for {
		if buf, err = readFrame(ctx, ws, buf); err != nil {
			break
		}
		n++
	}
	code := int(websocket.CloseStatus(err))
	sr := SlowReader{CloseCode: code, Frames: n}
	switch {
	case code == 1013:
		sr.Outcome = "closed by the server with 1013 (try again later)"
	case code != -1:
		sr.Outcome = fmt.Sprintf("closed by the server with %d", code)
	case ctx.Err() != nil:
		sr.Outcome = "still open: the server kept it"
	default:
		sr.Outcome = "dropped without a close frame: " + err.Error()
	}
	return sr
}
