// Package nats keeps statecast's action log in a NATS JetStream stream: a
// store.Follower that several nodes share, each appending its own actions
// and following everyone's, so that every node folds the same actions in
// the same order into the same state.
//
//	l, err := nats.Open(ctx, nats.Options{URLs: "nats://a:4222,nats://b:4222", Replicas: 3})
//	s, err := store.Open(ctx, initial, reduce, store.Options[S]{Log: l, ...})
//
// # Stream layout
//
// One stream (Options.Stream, default "statecast") holds one subject
// (Options.Subject, default "<stream>.actions") and nothing else, so that
// stream seqs are the log's seqs: one message per action, the stream seq
// of its message is the action's Seq. A message has
//
//   - the header Nats-Msg-Id: the action's ID, by which the stream drops a
//     second publish of the same action (its duplicate window, default two
//     minutes, must be longer than Options.RetryTimeout);
//   - a body in the form of actions.AppendBinary with the seq field 0 (the
//     stream seq is the seq; a reader sets it). Every reader decodes with
//     actions.DecodeBinary; a body that does not decode stops Read and
//     Follow with an error naming the stream and seq.
//
// Open creates the stream if it does not exist: file storage, Replicas
// replicas, limits retention without any limit (nothing is ever removed),
// discard new (should the account run out of storage, appends fail rather
// than old records vanish), deletes and purges of messages denied, and the
// metadata statecast_format=actions-binary-1 (see Format). It accepts an
// existing stream that holds exactly the subject, with limits retention,
// a long enough duplicate window and no other format; it leaves the
// stream's other settings alone (logging a warning for memory storage or
// limits that remove old records).
//
// Readers (Read, Follow) each create an ephemeral consumer of their own:
// in memory, one replica, no acks, starting at the seq asked for, deleted
// when the reader returns (or by the server after two minutes without a
// pull, should the reader's process die). Should the consumer go missing
// (its server stopped; two heartbeats of half a second missed) or a
// delivery be skipped, the reader starts a new one after the last record
// it delivered.
//
// # What an acknowledgement means
//
// Append returns nil once the stream has acknowledged every action of the
// batch. The stream leader acknowledges a message once a majority of the
// stream's replicas (2 of 3) have it in their raft log: the write survives
// the loss of any minority of servers. Whether it survives a power loss
// depends on the servers' sync setting: by default a NATS server fsyncs
// its stream files every two minutes (sync_interval: 2m), so a power loss
// that takes out a majority of replicas at once (one rack, one zone) can
// lose acknowledged actions written in the minutes before. For the log's
// durability to match the file backend with fsync=always, run the servers
// with
//
//	jetstream { sync_interval: always }
//
// (server.Options.SyncAlways when embedded; package natstest does so), at
// the cost of an fsync per write on every replica. With one replica
// (a single server), an acknowledgement is only as good as that one
// server's disk and sync setting.
//
// # How the store.Log contract bends
//
// Append publishes a batch pipelined and retries what is not acknowledged
// (a lost connection, a leader election) with the same Nats-Msg-Id until
// Options.RetryTimeout: nothing is appended twice. If it then gives up it
// returns an error, yet some actions of the batch may be in the stream,
// or land later from a publish still in flight: on a shared log an error
// means "not known to be appended". store.Follower allows for this: the
// store applies what Follow delivers, not what Append returns, so such an
// action is applied exactly once on every node, or not at all. The Log
// does not refuse later Appends after such an error.
//
// Within a batch, seqs increase in batch order, except when a failover
// drops one action while a later one of the same batch gets through (the
// batch is published pipelined): the retried action lands after it.
// Append still returns nil and sets each action's true seq (it logs a
// warning). Every Follow still delivers one order, the stream's. Retries
// go one at a time, so they never overtake each other. Only NATS's atomic
// batch publish would close this gap; it is not used, as it refuses a
// whole batch that holds an action already stored, which is what a retry
// after a lost acknowledgement sends.
//
// # Losing a server
//
// When a NATS server is lost, appends stall for a few seconds (about
// 2.3 s when the stream leader of three embedded servers stops, in the
// tests; longer on a loaded machine) and then go on; nothing is lost or
// applied twice.
// The stall is the sum of:
//
//   - noticing the loss: at once when the server's process ends (its
//     sockets close); when its host or the network goes silent instead,
//     after two unanswered pings, Options.PingInterval apart (2 s);
//   - reconnecting to another server of Options.URLs: Options.ReconnectWait
//     (250 ms) at most;
//   - if the lost server led the stream, electing a new leader among the
//     replicas left: the NATS servers' own raft timing, a few seconds, which
//     no client option changes.
//
// Meanwhile Append keeps publishing, for up to Options.RetryTimeout
// (statecast serve -nats-append-timeout); a store on the log refuses the
// writes queued behind an append that timed out at once (store.ErrUnavailable),
// so that clients are told to retry instead of queueing for minutes while
// a quorum is missing.
//
// LastSeq and FirstSeq ask the stream for its state on every call (one
// request each); without a context, they are bounded by
// Options.RequestTimeout and fall back to the last values known.
package nats
