package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/switchboard/switchboard/engine"
)

// Enqueue stores ev and its jobs as one message in the events stream and
// returns once JetStream acknowledged it (on a replicated stream: once a
// quorum stored it). The jobs are part of that message, so there is no
// second write to lose. With a dedupe window, the message's subject is
// derived from the delivery id and written only if that subject holds no
// message younger than the window: that compare-and-set, done by the
// stream's leader, is the dedupe check for every process at once.
func (q *Queue) Enqueue(ctx context.Context, ev *engine.Event, jobs []engine.NewJob) (string, error) {
	if err := q.checkOpen(); err != nil {
		return "", err
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = time.Now()
	}
	if m := q.opts.MaxDepth; m > 0 && len(jobs) > 0 {
		if d := q.depth(); d >= m {
			return "", fmt.Errorf("%w: queue holds %d pending or running jobs (max_depth %d)", engine.ErrUnavailable, d, m)
		}
	}
	specs, err := specsOf(jobs)
	if err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	dedupe := q.opts.DedupeWindow > 0 && ev.DeliveryID != ""
	token := "r" + nuid.Next() // "d…" tokens are deliveries' subjects
	if dedupe {
		token = dedupeToken(ev.Source, ev.DeliveryID)
	}
	now := time.Now()
	m, err := eventMsg(q.n.evSubj(token), ev, specs, now)
	if err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	var ack *jetstream.PubAck
	if dedupe {
		var dupID string
		ack, dupID, err = q.publishOnce(ctx, m)
		if dupID != "" {
			return dupID, fmt.Errorf("enqueue %s event: %w", ev.Name, engine.ErrDuplicate)
		}
	} else {
		ack, err = q.publish(ctx, m)
	}
	if err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, unavailable(err))
	}
	q.view.mu.Lock()
	q.view.addEvent(ack.Sequence, dedupe, ev.Source, ev.DeliveryID, now, specs)
	q.view.mu.Unlock()
	q.enqueued.Add(1)
	ev.ID = eventID(ack.Sequence)
	// Its jobs are likely leased here next: keep a copy (ev is the
	// caller's and not retained).
	stored := *ev
	stored.Payload = append(json.RawMessage(nil), ev.Payload...)
	stored.Headers = maps.Clone(ev.Headers)
	q.evCache.put(ack.Sequence, &stored)
	return ev.ID, nil
}

// publishOnce writes an event on its delivery's subject unless the subject
// holds an event (or the tombstone of a pruned one) younger than the
// dedupe window; then it returns that event's id instead.
func (q *Queue) publishOnce(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, string, error) {
	var last uint64
	for try := 0; try < 4; try++ {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fmt.Sprint(last))
		ack, err := q.publish(ctx, m)
		if !errors.Is(err, errConflict) {
			return ack, "", err
		}
		prev, err := q.lastMsg(ctx, q.evStream, m.Subject)
		if err != nil {
			return nil, "", err
		}
		if prev == nil {
			last = 0
			continue
		}
		if time.Since(headerTime(prev.Header, hCreated)) < q.opts.DedupeWindow {
			if prev.Header.Get(hKind) == "tomb" {
				return nil, prev.Header.Get(hEvent), nil
			}
			return nil, eventID(prev.Sequence), nil
		}
		last = prev.Sequence
	}
	return nil, "", fmt.Errorf("%w: the delivery's subject kept changing", engine.ErrUnavailable)
}

// depth is the number of pending and running jobs, as far as the view knows.
func (q *Queue) depth() int {
	q.view.mu.RLock()
	defer q.view.mu.RUnlock()
	return q.view.byState[engine.JobPending].Len() + q.view.byState[engine.JobRunning].Len()
}

// AddJobs stores a replay message (the event's id and the new jobs) in the
// events stream; the jobs exist once JetStream acknowledged it.
func (q *Queue) AddJobs(ctx context.Context, evID string, jobs []engine.NewJob) ([]string, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	if _, err := q.loadEvent(ctx, evID); err != nil {
		return nil, fmt.Errorf("add jobs to event %s: %w", evID, err)
	}
	specs, err := specsOf(jobs)
	if err != nil {
		return nil, fmt.Errorf("add jobs to event %s: %w", evID, err)
	}
	js, err := jsonString(specs)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	m := nats.NewMsg(q.n.rpSubj(nuid.Next()))
	m.Header.Set(hKind, "rp")
	m.Header.Set(hEvent, evID)
	m.Header.Set(hCreated, now.UTC().Format(time.RFC3339Nano))
	m.Header.Set(hJobs, js)
	ack, err := q.publish(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("add jobs to event %s: %w", evID, err)
	}
	q.view.mu.Lock()
	q.view.addReplay(ack.Sequence, evID, now, specs)
	q.view.mu.Unlock()
	ids := make([]string, len(specs))
	for i := range specs {
		ids[i] = jobID(ack.Sequence, i)
	}
	return ids, nil
}

// loadEvent reads a stored event (cached: events never change).
func (q *Queue) loadEvent(ctx context.Context, id string) (*engine.Event, error) {
	seq, ok := parseEventID(id)
	if !ok {
		return nil, fmt.Errorf("event %q: %w", id, engine.ErrNotFound)
	}
	if ev := q.evCache.get(seq); ev != nil {
		return ev, nil
	}
	m, err := q.msgAt(ctx, q.evStream, seq)
	if err != nil {
		return nil, err
	}
	if m == nil || !strings.HasPrefix(m.Subject, q.n.p+".ev.") || m.Header.Get(hKind) != "ev" {
		return nil, fmt.Errorf("event %s: %w", id, engine.ErrNotFound)
	}
	ev, err := decodeEvent(seq, m.Header, m.Data)
	if err != nil {
		return nil, err
	}
	q.evCache.put(seq, ev)
	return ev, nil
}

// GetEvent returns an event and its jobs in creation order.
func (q *Queue) GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error) {
	if err := q.checkOpen(); err != nil {
		return nil, nil, err
	}
	ev, err := q.loadEvent(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("get event: %w", err)
	}
	if err := q.barrier(ctx); err != nil {
		return nil, nil, fmt.Errorf("get event %s: %w", id, err)
	}
	seq, _ := parseEventID(id)
	q.view.mu.RLock()
	var snaps []jobEntry
	e := q.view.evBySeq[seq]
	if e != nil {
		for _, j := range e.jobs {
			if !j.deleted {
				snaps = append(snaps, *j)
			}
		}
	}
	q.view.mu.RUnlock()
	if e == nil {
		return nil, nil, fmt.Errorf("get event: event %s: %w", id, engine.ErrNotFound)
	}
	jobs, err := q.jobsOf(ctx, snaps)
	if err != nil {
		return nil, nil, fmt.Errorf("get event %s: %w", id, err)
	}
	out := *ev
	return &out, jobs, nil
}
