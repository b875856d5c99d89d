package postgres

import (
	"context"
	"sync"

	"github.com/switchboard/switchboard/engine"
)

// op is one request to a batcher: the caller waits on done, then reads
// err and whatever result fields the op type has.
type op struct {
	ctx  context.Context
	done chan struct{}
	err  error
}

func newOp(ctx context.Context) op { return op{ctx: ctx, done: make(chan struct{})} }

func (o *op) finish(err error) {
	o.err = err
	close(o.done)
}

// batcher is group commit: its committers each take every request queued
// since their last statement, write them with one multi-row statement
// and one COMMIT, and answer them all. At low load a batch is one
// request (one commit's latency); under load batches grow with the
// load, with no fixed wait.
type batcher[T interface{ base() *op }] struct {
	mu     sync.RWMutex // guards closed against sends on ch
	closed bool
	ch     chan T
	max    int
	run    func([]T)
	wg     sync.WaitGroup
}

func (o *op) base() *op { return o }

func newBatcher[T interface{ base() *op }](committers, max int, run func([]T)) *batcher[T] {
	b := &batcher[T]{ch: make(chan T, max*committers), max: max, run: run}
	for range committers {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

func (b *batcher[T]) loop() {
	defer b.wg.Done()
	for first := range b.ch {
		batch := []T{first}
	collect:
		for len(batch) < b.max {
			select {
			case o, ok := <-b.ch:
				if !ok {
					break collect
				}
				batch = append(batch, o)
			default:
				break collect
			}
		}
		live := batch[:0]
		for _, o := range batch {
			if err := o.base().ctx.Err(); err != nil {
				o.base().finish(err) // the caller gave up before it was written
				continue
			}
			live = append(live, o)
		}
		if len(live) > 0 {
			b.run(live)
		}
	}
}

// submit queues o and waits for its answer or ctx. A caller that stops
// waiting may still see its request written.
func (b *batcher[T]) submit(ctx context.Context, o T) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return engine.ErrClosed
	}
	select {
	case b.ch <- o:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-o.base().done:
		return o.base().err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking requests, lets the committers write what is queued,
// and waits for them.
func (b *batcher[T]) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.ch)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
