package loadtest

import (
	"bytes"
	"context"
	"net/url"
	"strconv"

	"github.com/coder/websocket"
)

// The centrifugo dialect speaks Centrifugo's bidirectional JSON protocol,
// so that one command measures statecast and Centrifugo alike: a client
// connects anonymously and subscribes to a channel; a writer publishes
// into it; every subscriber gets each publication as a push. The channel
// is the URL's `channel` query parameter (default "chat"), which the
// server ignores: ws://127.0.0.1:8000/connection/websocket?channel=chat.
// The server must allow anonymous connects, subscribes and publishes in
// that channel: see centrifugo.json beside this file.

// defaultChannel is the channel of a URL without one.
const defaultChannel = "chat"

// channelOf returns the channel a URL names.
func channelOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if ch := u.Query().Get("channel"); ch != "" {
			return ch
		}
	}
	return defaultChannel
}

// centrifugoJoin is the first frame of a Centrifugo client: a connect
// command and a subscribe command, batched as two JSON lines.
func centrifugoJoin(name, channel string) []byte {
	b := []byte(`{"id":1,"connect":{"name":`)
	b = strconv.AppendQuote(b, name)
	b = append(b, `}}`+"\n"+`{"id":2,"subscribe":{"channel":`...)
	b = strconv.AppendQuote(b, channel)
	return append(b, `}}`...)
}

// centrifugoPublish appends a publish command of text (a marker and ASCII
// padding: no escapes needed) into channel to b.
func centrifugoPublish(b []byte, id uint64, channel string, text []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"publish":{"channel":`...)
	b = strconv.AppendQuote(b, channel)
	b = append(b, `,"data":{"message":"`...)
	b = append(b, text...)
	return append(b, `"}}}`...)
}

// centrifugoSubscribed reads one frame of replies and reports whether it
// holds the reply to the subscribe command (id 2), or the error of one.
func centrifugoSubscribed(frame []byte) (done bool, errMsg string) {
	for line := range bytes.Lines(frame) {
		line = bytes.TrimSpace(line)
		if !bytes.HasPrefix(line, []byte(`{"id":2,`)) {
			continue
		}
		if bytes.Contains(line, []byte(`"error":`)) {
			return true, string(line)
		}
		return true, ""
	}
	return false, ""
}

// centrifugoPing is Centrifugo's ping, and the client's pong: an empty
// command.
var centrifugoPing = []byte("{}")

// answerCentrifugoPings answers each ping in frame (several replies and
// pushes, one per line) with a pong, and reports whether the frame held
// pings only.
func answerCentrifugoPings(ws *websocket.Conn, frame []byte) (onlyPings bool) {
	onlyPings = true
	for line := range bytes.Lines(frame) {
		if bytes.Equal(bytes.TrimSpace(line), centrifugoPing) {
			ws.Write(context.Background(), websocket.MessageText, centrifugoPing)
		} else {
			onlyPings = false
		}
	}
	return onlyPings
}

// handleCentrifugo accounts one frame of a Centrifugo client: it may hold
// several replies and pushes, one per line. An empty command is the
// server's ping, answered with an empty one.
func (cl *fanClient) handleCentrifugo(r *fanRun, frame []byte, now int64) {
	answerCentrifugoPings(cl.ws, frame)
	for line := range bytes.Lines(frame) {
		line = bytes.TrimSpace(line)
		switch {
		case bytes.HasPrefix(line, []byte(`{"push":`)):
			if text, ok := pushedMessage(line); ok && r != nil {
				cl.deliver(r, text, now)
			}
		case bytes.Contains(line, []byte(`"error":`)) && r != nil:
			r.addError("centrifugo: " + string(line))
		}
	}
}

// pushedMessage finds the message text of a publication push; pushes of
// joins and leaves carry none.
func pushedMessage(line []byte) ([]byte, bool) {
	key := []byte(`"message":"`)
	i := bytes.Index(line, key)
	if i < 0 || !bytes.Contains(line[:i], []byte(`"pub":`)) {
		return nil, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, false
	}
	return rest[:j], true
}
