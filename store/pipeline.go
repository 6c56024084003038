package store

import (
	"context"
	"fmt"

	"github.com/statecast/statecast/actions"
)

// pipelineDepth bounds the batches between two stages of the pipelined
// commit: written and waiting for their sync, or durable and waiting to
// be applied.
const pipelineDepth = 4

// written is a batch the log took and has yet to make durable.
type written struct {
	batch   []*request
	durable func() error
}

// pipeline is the apply loop's commit on a Pipeliner: three goroutines,
// so that batch N+1 is written while batch N syncs, and batch N-1 is
// applied and sent to subscribers meanwhile. Each batch is applied only
// once the log said it is durable, in seq order, by one goroutine: what
// subscribers see is what commit would have shown them, sooner.
type pipeline[S any] struct {
	s       *Store[S]
	log     Pipeliner
	synced  chan written    // durable batches, for the applier
	pending chan written    // written batches, for the syncer
	free    chan []*request // batch slices back from the applier, for reuse
}

// runPipeline commits every batch of the queue through p until the queue
// closes, and returns once the last one is applied.
func (s *Store[S]) runPipeline(log Pipeliner) {
	p := &pipeline[S]{
		s:       s,
		log:     log,
		pending: make(chan written, pipelineDepth),
		synced:  make(chan written, pipelineDepth),
		free:    make(chan []*request, 2*pipelineDepth+2),
	}
	applied := make(chan struct{})
	go p.sync()
	go func() {
		defer close(applied)
		p.apply()
	}()
	p.write()
	close(p.pending)
	<-applied
}

// write takes the queue's waiting requests as batches and writes each to
// the log, handing it on to the syncer.
func (p *pipeline[S]) write() {
	acts := make([]*actions.Action, 0, maxBatch)
	for req := range p.s.queue {
		batch := p.nextBatch(req)
		acts = acts[:0]
		for _, r := range batch {
			acts = append(acts, r.action)
		}
		durable, err := p.log.Write(context.Background(), acts)
		if err != nil {
			p.fail(batch, err)
			continue
		}
		p.pending <- written{batch: batch, durable: durable}
	}
}

// nextBatch returns req and every request queued behind it, up to maxBatch.
func (p *pipeline[S]) nextBatch(req *request) []*request {
	var batch []*request
	select {
	case batch = <-p.free:
	default:
		batch = make([]*request, 0, maxBatch)
	}
	batch = append(batch[:0], req)
	for len(batch) < maxBatch {
		select {
		case r, ok := <-p.s.queue:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// sync waits until each written batch is durable and hands it to the
// applier; a batch the log lost is refused to its dispatchers.
func (p *pipeline[S]) sync() {
	defer close(p.synced)
	for w := range p.pending {
		if err := w.durable(); err != nil {
			for _, r := range w.batch {
				r.action.Seq = 0
			}
			p.fail(w.batch, err)
			continue
		}
		p.synced <- w
	}
}

// apply applies each durable batch, answers its dispatchers and takes
// snapshots: the single goroutine that changes the state.
func (p *pipeline[S]) apply() {
	for w := range p.synced {
		for _, r := range w.batch {
			r.result <- p.s.step(r.action)
		}
		p.s.maybeSnapshot()
		p.recycle(w.batch)
	}
}

// fail answers every dispatcher of batch with the log's error.
func (p *pipeline[S]) fail(batch []*request, err error) {
	err = fmt.Errorf("store: appending to the log: %w", err)
	for _, r := range batch {
		r.result <- err
	}
	p.recycle(batch)
}

func (p *pipeline[S]) recycle(batch []*request) {
	clear(batch)
	select {
	case p.free <- batch[:0]:
	default:
	}
}
