package loadtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// runFill posts c.historyFill messages from one client, a window of them
// at a time, and waits until each was delivered back to it.
func runFill(ctx context.Context, c config, d *dialer, prefix string) (*FillReport, error) {
	const window = 32
	ws, _, buf, err := d.join(ctx, c.url, prefix+"-fill", "fill", nil)
	if err != nil {
		return nil, err
	}
	slots := make(chan struct{}, window)
	var delivered atomic.Int64
	done := make(chan struct{})
	readDone := make(chan struct{})
	var readErr error // set before readDone closes
	ended := func() error {
		return fmt.Errorf("%d of %d messages delivered, then the socket ended: %s", delivered.Load(), c.historyFill, closeReason(readErr))
	}
	defer func() {
		ws.CloseNow()
		<-readDone
	}()
	go func() {
		defer close(readDone)
		var texts [][]byte
		for {
			var err error
			if buf, err = readFrame(context.Background(), ws, buf); err != nil {
				readErr = err
				return
			}
			texts = texts[:0]
			if t, ok := lastMessageText(buf); ok {
				texts = append(texts, t)
			} else if t, ok := decodeLastText(buf); ok {
				texts = append(texts, t)
			} else {
				texts, _, _ = patchMessages(buf, texts)
			}
			for _, t := range texts {
				if w, _, _, ok := parseMarker(t); ok && w == -1 {
					select {
					case <-slots:
					default:
					}
					if delivered.Add(1) == int64(c.historyFill) {
						close(done)
					}
				}
			}
		}
	}()
	start := time.Now()
	var frame, text []byte
	for seq := range c.historyFill {
		select {
		case slots <- struct{}{}:
		case <-readDone:
			return nil, ended()
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d messages delivered: %w", delivered.Load(), c.historyFill, ctx.Err())
		}
		text = padText(appendMarker(text[:0], -1, seq, time.Now().UnixNano()), c.size)
		if err := ws.Write(ctx, websocket.MessageText, writeFrame(frame[:0], "fill", text)); err != nil {
			return nil, err
		}
	}
	select {
	case <-done:
	case <-readDone:
		return nil, ended()
	case <-ctx.Done():
		return nil, fmt.Errorf("%d of %d messages delivered: %w", delivered.Load(), c.historyFill, ctx.Err())
	}
	elapsed := time.Since(start)
	ws.Close(websocket.StatusNormalClosure, "")
	return &FillReport{Messages: c.historyFill, Delivered: int(delivered.Load()), Seconds: elapsed.Seconds(),
		PerSecond: float64(c.historyFill) / elapsed.Seconds()}, nil
}
