// Package loadtest is statecast's load generator: it drives a chat server
// that speaks the v1 (seed) or v2 dialect with many WebSocket clients and
// reports what the server delivered, how fast, and at what cost. It is the
// logic of the statecast-load command (and of its alias, statecast bench);
// Run is the whole command.
//
// # What it measures
//
// A fan-out run (-mode fanout) connects -clients sockets to one room and
// lets -writers of them post -messages messages in all. Every client must
// receive every message, so a run expects clients × messages deliveries;
// the report counts deliveries, losses, duplicates, reordered messages,
// refused writes, deliveries per second from the first send to the last
// delivery, and the latency of each delivery (send to receipt, nearest-rank
// p50, p90, p99, max). -mode history first fills the room with
// -history-fill messages, so that every v1 frame carries a long
// messagesList. -slow N runs the fan-out a second time with N extra clients
// that stop reading, and reports whether the server closed them with 1013
// instead of waiting for them.
//
// A connect storm (-mode storm) opens -clients sockets, -concurrency at a
// time, each until its `connected` (v1) or `snapshot` (v2), holds them for
// -hold and closes them: handshakes per second, handshake latency and, with
// -pid, the server's resident memory per idle connection.
//
// A soak (-mode soak) runs a mixed load for -minutes: residents that read
// everything, some of them writing, each dropping its socket now and then
// and resuming (v2 lastSeq and token); users that connect, reload and
// leave; slow readers. It samples the server's RSS, Go heap, goroutines,
// open file descriptors, sockets and send-queue frames every -sample and
// writes them as CSV, JSON and an SVG chart, to show whether anything
// grows (see soak.go).
//
// # How
//
// Each message's text is a marker, w<writer>#<seq>@<unix ns when sent>,
// which tells the receiving client which message it is and when it left.
// Writers wait for their own message to come back before sending the next
// (-inflight widens that window), or send on a fixed schedule (-rate).
// Clients read every frame on the same cores as the server, so frames are
// not decoded: small scanners find the event name, the newest message of a
// v1 messageWritten and the messages a v2 patch adds, and fall back to
// encoding/json (counted as slow-path frames) for any other shape.
//
// Cost comes from /proc: the load generator's own CPU (getrusage), the
// server's CPU and RSS when -pid names it (sampled for the peak), and the
// CPU other programs used meanwhile, with a warning when the machine was
// not quiet enough for the numbers to mean much.
//
// The tool only targets this machine: URLs must name a loopback address or
// localhost, and the dialer refuses a connection whose remote address is
// not a loopback one.
package loadtest
