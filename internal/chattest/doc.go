// Package chattest is the test harness of statecast's end-to-end tests: it
// starts servers in-process with server.New, and gives a real WebSocket
// client for both dialects of the wire protocol (docs/protocol.md).
//
// Start runs a server on a loopback port and stops it when the test ends:
//
//	s := chattest.Start(t, server.Config{Grace: 100 * time.Millisecond})
//	ann, connected := s.Join(t, "/chat/lobby", "u-ann", "ann")
//	ann.Send(map[string]any{"event": "writeMessage", "message": "hi"})
//	ann.Expect("messageWritten")
//
// A v1 Client reads frames as Events: decoded JSON objects with a string
// event. A v2 Client (JoinV2, or Dial with V2) keeps a mirror of its room:
// every snapshot it reads replaces the mirror, every patch is checked and
// applied to it with an RFC 6902 implementation, so a test can compare the
// mirror with a fresh snapshot (WantSynced).
//
// Every helper that takes a testing.TB fails the test on an error, and
// every read waits at most Timeout. Sockets and servers close when the
// test ends.
package chattest
