package loadtest

import (
	"encoding/json"
	"strconv"
)

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

// decodeLastText is the slow path of lastMessageText: it decodes the
// whole messagesList.
func decodeLastText(frame []byte) ([]byte, bool) {
	var f struct {
		MessagesList []struct {
			Message string `json:"message"`
		} `json:"messagesList"`
	}
	if json.Unmarshal(frame, &f) != nil || len(f.MessagesList) == 0 {
		return nil, false
	}
	return []byte(f.MessagesList[len(f.MessagesList)-1].Message), true
}

// wireError is an `error` event.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref"`
}

// decodeError decodes an `error` event; fields it cannot read stay empty.
func decodeError(b []byte) wireError {
	var e wireError
	json.Unmarshal(b, &e)
	return e
}
