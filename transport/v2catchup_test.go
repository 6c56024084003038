package transport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestV2ResumeAfterALongAbsence: a v2 client that missed 4,000 changes
// (four times its send queue, inside the resume window) gets all of them,
// reading slowly meanwhile, and is never closed with 1013: as a handful of
// merged patches when they are smaller than a snapshot, else as the
// snapshot. The send queue and the resume window are at their defaults.
func TestV2ResumeAfterALongAbsence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history int
		want    string // the reply to the resuming connecting
	}{
		// 8,000 retained messages make a snapshot larger than the 4,000
		// missed ones: the client resumes.
		{"resumed", 10_000, "resumed"},
		// At the default history of 1,000, the missed changes (4,000
		// messages in, 3,000 out) outweigh a snapshot of the room.
		{"snapshot", 0, "snapshot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := chattest.Start(t, server.Config{History: tc.history, RateLimit: noRateLimit})
			const room = "/chat/absent"
			if tc.want == "resumed" {
				post(t, s, "absent", 4000)
			}
			ann := s.JoinV2(t, room, "ann", "ann")
			// A second tab keeps ann in the room, reading everything.
			tab, _ := s.ConnectV2(t, room, "ann's tab", nil, map[string]any{"id": "ann", "username": "ann", "token": ann.Token})
			ctx, stopDraining := context.WithCancel(context.Background())
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for {
					if _, _, err := tab.Conn().Read(ctx); err != nil {
						return
					}
				}
			}()
			defer func() { stopDraining(); <-drained }()
			ann.CloseNow()

			post(t, s, "absent", 4000)
			back, reply := s.Resume(t, room, ann)
			if reply.Name() != tc.want {
				t.Fatalf("reply to the resume: %v, want %s", reply.Name(), tc.want)
			}
			// It reads nothing for a while as the chat goes on.
			post(t, s, "absent", 300)
			time.Sleep(500 * time.Millisecond)
			witness := s.JoinV2(t, room, "", "witness")
			last, want := witness.Snapshot()
			start := time.Now()
			got, frames := readPatches(t, back, last)
			t.Logf("%s: caught up in %v, %d patch frames", tc.want, time.Since(start).Round(time.Millisecond), frames)
			if tc.want == "resumed" && frames > 300+20 {
				t.Fatalf("4,300 changes came in %d patch frames: the catch-up was not merged", frames)
			}
			if !chattest.JSONEqual(got, want) {
				t.Fatalf("caught-up state differs from a fresh snapshot at seq %d", last)
			}
		})
	}
}

// readPatches reads c's patches until seq and applies them to its mirror
// at once (applying a patch costs a pass over the whole document: one
// each would make this test slow), and returns the state and how many
// frames the patches came in.
func readPatches(t *testing.T, c *chattest.Client, seq uint64) (state []byte, frames int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ops []json.RawMessage
	at := c.LastSeq
	for at < seq {
		_, b, err := c.Conn().Read(ctx)
		if err != nil {
			t.Fatalf("reading patches at seq %d of %d: %v", at, seq, err)
		}
		var p struct {
			Event string
			Seq   uint64
			Ops   []json.RawMessage
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Event != "patch" || p.Seq <= at {
			t.Fatalf("at seq %d: got %.200s, want a later patch", at, b)
		}
		ops, at, frames = append(ops, p.Ops...), p.Seq, frames+1
	}
	raw, _ := json.Marshal(ops)
	patch, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	state, err = patch.Apply(c.Mirror())
	if err != nil {
		t.Fatalf("applying the patches: %v", err)
	}
	return state, frames
}

// post has server code write n messages to room, concurrently.
func post(t *testing.T, s *chattest.Server, room string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				errs <- s.Store().Dispatch(context.Background(), &actions.Action{
					Type: actions.TypePostMessage, Room: room, User: "bot",
					Payload: actions.PostMessage{Username: "bot", Message: fmt.Sprint("message ", i)},
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
