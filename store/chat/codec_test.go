package chat_test

import (
	"bytes"
	"testing"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store/chat"
)

func TestCodecRoundTripIsCanonical(t *testing.T) {
	t.Parallel()
	reduce := chat.NewReducer(chat.Options{History: 3})
	withID := write("q", "s2", "c")
	withID.Payload = actions.WriteMessage{Message: "c", ClientID: "k1"}
	s := run(reduce, []*actions.Action{
		open("r", "s1"), connect("r", "s1", "1", "ann"), write("r", "s1", "a"), write("r", "s1", "b"),
		open("q", "s2"), connect("q", "s2", "2", "bob"), withID,
		open("r", "s3"), connect("r", "s3", "2", "bob"), closeSess("r", "s1", "1"), write("r", "s3", "d"),
		write("r", "s3", "e"), open("r", "s4"),
	})
	var c chat.Codec
	data, err := c.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := c.Encode(back)
	if !bytes.Equal(data, again) {
		t.Fatalf("round trip changed the state:\n%s\n%s", data, again)
	}
	// The decoded state keeps working like the original.
	next := func(st chat.State) []byte {
		a := write("r", "s3", "f")
		a.Seq = 14
		out, _ := c.Encode(reduce(st, a))
		return out
	}
	if !bytes.Equal(next(s), next(back)) {
		t.Fatal("the decoded state reduces differently")
	}
	if _, ok := back.Room("q").Written("2", "k1"); !ok {
		t.Fatal("the decoded state forgot a clientId")
	}
	if _, err := c.Decode([]byte(`{"version":99}`)); err == nil {
		t.Fatal("an unknown version decoded")
	}
}
