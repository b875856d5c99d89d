package jetstream

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboard/switchboard/engine"
)

// heartbeat records that this process is alive now.
func (q *Queue) heartbeat(ctx context.Context) error {
	p := q.proc
	p.Seen = time.Now().UTC()
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ack, err := q.publish(ctx, &nats.Msg{Subject: q.n.procSubj(p.ID), Data: data})
	if err != nil {
		return err
	}
	if q.view != nil {
		q.view.mu.Lock()
		q.view.applyProc(p.ID, ack.Sequence, data)
		q.view.mu.Unlock()
	}
	return nil
}

func (q *Queue) heartbeatLoop(ctx context.Context) {
	defer q.wg.Done()
	t := time.NewTicker(q.opts.HeartbeatInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := q.heartbeat(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			q.log.Warn("queue heartbeat failed", "err", err)
			failing = true
		case err == nil && failing:
			q.log.Info("queue heartbeat resumed")
			failing = false
		}
	}
}

// Processes lists the processes whose last heartbeat is within
// ProcessTimeout, this one included, oldest first.
func (q *Queue) Processes(ctx context.Context) ([]engine.Process, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if err := q.barrier(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	v := q.view
	v.mu.RLock()
	out := make([]engine.Process, 0, len(v.procs))
	for id, p := range v.procs {
		if v.alive(id, now, q.opts.ProcessTimeout) {
			out = append(out, p)
		}
	}
	v.mu.RUnlock()
	slices.SortFunc(out, func(a, b engine.Process) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// barrier waits until the view holds everything acknowledged before it was
// called, in any process: it writes a marker to each stream and waits for
// the feeds to deliver both.
func (q *Queue) barrier(ctx context.Context) error {
	msgs := []*nats.Msg{
		{Subject: q.n.esyncSubj(q.proc.ID), Header: nats.Header{"Nats-Rollup": []string{"sub"}}},
		{Subject: q.n.syncSubj(q.proc.ID)},
	}
	acks, errs := q.publishAll(ctx, msgs)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	select {
	case <-q.view.waitFor(acks[0].Sequence, acks[1].Sequence):
		return nil
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// eventCache keeps recently leased events, which never change.
type eventCache struct {
	mu  sync.Mutex
	max int
	m   map[uint64]*engine.Event
}

func (c *eventCache) init(max int) { c.max, c.m = max, map[uint64]*engine.Event{} }

func (c *eventCache) get(seq uint64) *engine.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[seq]
}

func (c *eventCache) put(seq uint64, ev *engine.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[seq] = ev
}
