package store

import (
	"context"
	"errors"

	"github.com/statecast/statecast/actions"
)

// Log is the durable, append-only record of every action the store
// applied, in order. The store's state is a pure fold of it: replaying the
// log from the start (or from a snapshot) rebuilds the state exactly.
//
// Append and apply are separate steps: the store appends a batch, then
// applies it. A backend shared by several nodes (a stream every node reads)
// implements the same contract.
//
// Every backend must pass the suite in package store/logtest.
type Log interface {
	// Append writes batch as the next records, in order, and sets each
	// action's Seq: the first gets LastSeq()+1, the next one more, and so on
	// (seqs start at 1 and have no gaps). When Append returns nil the records
	// are as durable as the backend's sync policy promises (for the file log
	// with fsync=always: on disk). On error, no action of the batch counts as
	// appended and their Seq fields are zero; a backend that cannot undo a
	// partial write must fail every later call rather than go on.
	// A failure the backend expects to recover from (a full disk, an I/O
	// error it heals from in the background) wraps ErrUnavailable.
	// The store calls Append from one goroutine at a time; an empty batch is
	// a no-op.
	Append(ctx context.Context, batch []*actions.Action) error

	// LastSeq returns the seq of the last record, or 0 for an empty log.
	LastSeq() uint64

	// FirstSeq returns the seq of the oldest record still held, or 0 for an
	// empty log. It is greater than 1 once old records were removed.
	FirstSeq() uint64

	// Read calls fn for every record with seq >= from, in seq order, up to the
	// last record appended when Read began. It stops at the first error fn
	// returns, and returns it. Reading from 0 or 1 starts at the oldest
	// record; reading from LastSeq()+1 or later calls fn never. fn must not
	// keep the action past the call unless it copies it. Read may run
	// concurrently with Append.
	Read(ctx context.Context, from uint64, fn func(a *actions.Action) error) error

	// Close makes everything appended durable and releases the log. Later
	// calls of other methods fail. Safe to call twice.
	Close() error
}

// Pipeliner is a Log that takes an append in two steps, so that the store
// writes the next batch while the last one is made durable, and applies
// the one before meanwhile: a pipelined commit. The store uses Write
// instead of Append when its log has it (and is not a Follower).
type Pipeliner interface {
	Log
	// Write writes batch as the next records and sets each action's Seq,
	// as Append does, and returns a function that makes them as durable as
	// Append would have when it returned, or nil if they are already (a
	// sync policy that does not wait for the disk). durable returns nil
	// then, or the error that lost the batch: its actions count as never
	// appended. A failure cuts off the failed batch and every later one
	// not yet durable. Read need not see a batch before its durable
	// returned. The store calls Write from one goroutine and each durable
	// from another, in write order, one at a time.
	Write(ctx context.Context, batch []*actions.Action) (durable func() error, err error)
}

// ErrUnavailable is wrapped by the errors of a Log that cannot take
// appends for now but expects to recover by itself (its disk is full or
// failing): the batch was not appended, and its sender may retry later.
var ErrUnavailable = errors.New("store: the log cannot take writes for now")

// Follower is a Log that other writers append to as well: a stream shared by
// several nodes. A store opened on a Follower applies what Follow delivers,
// its own actions and every other node's, in seq order, instead of the
// batches it appends; every node thus folds the same actions into the same
// state.
//
// On a Follower, Append may give a batch seqs that are not consecutive
// (other writers' records fall in between), but they still increase in
// batch order. Each action must carry a unique ID: a backend may use it to
// drop a record it already holds when Append retries after a failure, and
// the store uses it to find the dispatcher waiting for a followed record.
type Follower interface {
	Log
	// Follow calls fn for every record with seq >= from, in seq order: the
	// records already held, then each new one as it is appended by any
	// writer, until ctx ends (Follow returns ctx.Err()) or fn returns an
	// error (Follow returns it). It survives lost connections on its own,
	// resuming after the last record delivered. fn must not keep the action
	// past the call unless it copies it.
	Follow(ctx context.Context, from uint64, fn func(a *actions.Action) error) error
}

// Snapshots stores snapshots: encoded states after a given seq, so that
// recovery need not replay the whole log.
type Snapshots interface {
	// SaveSnapshot stores data as the state after seq. It is durable when it
	// returns; a crash midway leaves the previous snapshots intact.
	SaveSnapshot(seq uint64, data []byte) error
	// LatestSnapshot returns the newest snapshot, or seq 0 and nil data when
	// there is none.
	LatestSnapshot() (seq uint64, data []byte, err error)
}

// Codec encodes states for snapshots. Decode(Encode(s)) must equal s.
type Codec[S any] interface {
	Encode(s S) ([]byte, error)
	Decode(data []byte) (S, error)
}
