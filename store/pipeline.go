package store

import (
	"context"
	"fmt"

	"github.com/statecast/statecast/actions"
)

// pipeline is the apply loop's commit on a Pipeliner: while one batch
// syncs (on the syncer goroutine), the loop applies the batch before it
// and gathers the requests that arrive. When the sync ends, the loop
// writes everything gathered as the next batch, hands it to the syncer,
// and only then applies the batch just made durable. So the fsync and
// the apply overlap, and the writes arrive in larger groups, with one
// write and one fsync each. A batch is applied only once the log said it
// is durable, in seq order, on the loop goroutine: subscribers see what
// they would without the pipeline, sooner.
type pipeline[S any] struct {
	s   *Store[S]
	log Pipeliner

	gathered []*request   // arrived, to be written once the sync in flight ends
	syncing  []*request   // written, syncing on the syncer
	free     [][]*request // empty batches to reuse
	acts     []*actions.Action

	toSync chan func() error // the durable of the batch syncing
	synced chan error        // its result
}

// runPipeline commits every request of the intake through log until the
// intake closes, and returns once the last one is applied.
func (s *Store[S]) runPipeline(log Pipeliner) {
	p := &pipeline[S]{
		s:      s,
		log:    log,
		acts:   make([]*actions.Action, 0, maxBatch),
		toSync: make(chan func() error),
		synced: make(chan error),
	}
	p.gathered = p.batch()
	go p.syncLoop()
	defer close(p.toSync)
	open := true
	for open || p.syncing != nil || len(p.gathered) > 0 {
		if p.syncing == nil && len(p.gathered) > 0 {
			if ready := p.write(); ready != nil {
				p.apply(ready)
			}
			continue
		}
		var synced chan error // nil (never ready) unless a batch syncs
		if p.syncing != nil {
			synced = p.synced
		}
		var arrivals chan struct{} // nil (never ready) unless it gathers
		if open && len(p.gathered) < maxBatch {
			arrivals = s.intake.wake // else enough for the next batch: let the intake fill
		}
		select {
		case <-arrivals:
			var closed bool
			p.gathered, closed = s.intake.take(p.gathered)
			open = !closed
		case err := <-synced:
			p.durable(err)
		}
	}
}

// write writes up to a full batch of the gathered requests; no batch is
// syncing. It starts the batch's sync, or returns the batch when the log
// says it is durable already, for the caller to apply after any batch
// before it. A batch the log refuses is answered at once.
func (p *pipeline[S]) write() (ready []*request) {
	n := min(len(p.gathered), maxBatch)
	batch := p.gathered[:n] // its array is the batch's alone now
	p.gathered = append(p.batch(), p.gathered[n:]...)
	p.acts = p.acts[:0]
	for _, r := range batch {
		p.acts = append(p.acts, r.action)
	}
	durable, err := p.log.Write(context.Background(), p.acts)
	clear(p.acts)
	switch {
	case err != nil:
		p.fail(batch, err)
		return nil
	case durable == nil:
		return batch
	}
	p.syncing = batch
	p.toSync <- durable
	return nil
}

// durable ends the sync in flight: it starts the next one with what was
// gathered meanwhile, then applies (or refuses) the batch that synced.
func (p *pipeline[S]) durable(err error) {
	batch := p.syncing
	p.syncing = nil
	var ready []*request
	if len(p.gathered) > 0 {
		ready = p.write()
	}
	if err != nil {
		for _, r := range batch {
			r.action.Seq = 0
		}
		p.fail(batch, err)
	} else {
		p.apply(batch)
	}
	if ready != nil {
		p.apply(ready)
	}
}

// apply applies a durable batch, answers its dispatchers and takes a
// snapshot when one is due.
func (p *pipeline[S]) apply(batch []*request) {
	p.s.applyBatch(batch)
	p.recycle(batch)
}

// fail answers every dispatcher of batch with the log's error.
func (p *pipeline[S]) fail(batch []*request, err error) {
	err = fmt.Errorf("store: appending to the log: %w", err)
	for _, r := range batch {
		r.err = err
	}
	answer(batch)
	p.recycle(batch)
}

// batch returns an empty batch, reused if one is free.
func (p *pipeline[S]) batch() []*request {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	return make([]*request, 0, maxBatch)
}

func (p *pipeline[S]) recycle(batch []*request) {
	if cap(batch) >= maxBatch && len(p.free) < 4 {
		clear(batch)
		p.free = append(p.free, batch[:0])
	}
}

// syncLoop runs each batch's durable, one at a time, and reports back.
func (p *pipeline[S]) syncLoop() {
	for durable := range p.toSync {
		p.synced <- durable()
	}
}
