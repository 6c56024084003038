package loadtest

import (
	"encoding/json"
	"testing"
)

// TestCentrifugoFrames: the commands are valid JSON of Centrifugo's
// protocol, and the replies and pushes it sends are read right.
func TestCentrifugoFrames(t *testing.T) {
	t.Parallel()
	var join []map[string]any
	for _, line := range splitLines(centrifugoJoin(`b"1`, "chat-2")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("join line %q: %v", line, err)
		}
		join = append(join, m)
	}
	if len(join) != 2 || join[0]["connect"].(map[string]any)["name"] != `b"1` ||
		join[1]["subscribe"].(map[string]any)["channel"] != "chat-2" || join[1]["id"] != 2.0 {
		t.Fatalf("join = %v", join)
	}
	var pub struct {
		ID      uint64
		Publish struct {
			Channel string
			Data    struct{ Message string }
		}
	}
	if err := json.Unmarshal(centrifugoPublish(nil, 7, "chat", []byte("w1.2.3 xx")), &pub); err != nil ||
		pub.ID != 7 || pub.Publish.Channel != "chat" || pub.Publish.Data.Message != "w1.2.3 xx" {
		t.Fatalf("publish = %+v, %v", pub, err)
	}

	for _, tc := range []struct {
		frame       string
		done        bool
		refused     bool
		description string
	}{
		{`{"id":1,"connect":{"client":"c","version":"6"}}`, false, false, "connect reply only"},
		{"{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{}}", true, false, "both replies in one frame"},
		{`{"id":2,"error":{"code":103,"message":"permission denied"}}`, true, true, "subscribe refused"},
	} {
		done, refused := centrifugoSubscribed([]byte(tc.frame))
		if done != tc.done || (refused != "") != tc.refused {
			t.Errorf("%s: done %v refused %q", tc.description, done, refused)
		}
	}

	text, ok := pushedMessage([]byte(`{"push":{"channel":"chat","pub":{"data":{"message":"w0.5.99 x"},"offset":3}}}`))
	if !ok || string(text) != "w0.5.99 x" {
		t.Fatalf("pushed message %q, %v", text, ok)
	}
	if _, ok := pushedMessage([]byte(`{"push":{"channel":"chat","join":{"info":{"client":"c","user":""}}}}`)); ok {
		t.Fatal("a join push read as a message")
	}
}

func TestChannelOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ws://127.0.0.1:8000/connection/websocket":              "chat",
		"ws://127.0.0.1:8000/connection/websocket?channel=room": "room",
	} {
		if got := channelOf(in); got != want {
			t.Errorf("channelOf(%q) = %q, want %q", in, got, want)
		}
	}
	if got := roomURL("ws://127.0.0.1:8000/connection/websocket?channel=room", 3, 4); channelOf(got) != "room-3" {
		t.Errorf("room 3 of a Centrifugo URL: %s", got)
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}
