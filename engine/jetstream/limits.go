package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// A listener's concurrency is a semaphore record in the state stream: the
// attempts holding a slot. A slot is taken after the job's claim (so the
// holder's revision is known) and released when the attempt ends; a holder
// the view shows as no longer running (a crashed process's claim taken
// back) is dropped by whoever next reads the record.
type semRec struct {
	Holders map[string]semHolder `json:"h"`
}

type semHolder struct {
	Job     string `json:"-"`
	Attempt int    `json:"a"`
	Rev     uint64 `json:"r"` // revision of the claim
}

// A listener's rate is a token bucket record: tokens left at a time.
type rateRec struct {
	Tokens float64 `json:"t"`
	At     int64   `json:"at"` // unix nanos
}

// applyLimits trims picks to what each listener's rate tokens and free
// concurrency slots allow. refund gives back tokens of claims that lose.
func (q *Queue) applyLimits(ctx context.Context, picks []pick) ([]pick, func(string, int), error) {
	want := map[string]int{}
	for _, p := range picks {
		want[p.e.listener]++
	}
	allow := map[string]int{}
	rates := map[string]engine.Rate{}
	for l, n := range want {
		qu := picks[indexOf(picks, l)].quota
		if qu.Concurrency > 0 {
			free, err := q.semFree(ctx, l, qu.Concurrency)
			if err != nil {
				return nil, nil, err
			}
			n = min(n, free)
		}
		if !qu.Rate.IsZero() && n > 0 {
			got, err := q.rateTake(ctx, l, qu.Rate, n)
			if err != nil {
				return nil, nil, err
			}
			n = got
			rates[l] = qu.Rate
		}
		allow[l] = n
	}
	kept := picks[:0]
	for _, p := range picks {
		if allow[p.e.listener] > 0 {
			allow[p.e.listener]--
			kept = append(kept, p)
		}
	}
	refund := func(l string, n int) {
		if r, ok := rates[l]; ok {
			if err := q.rateRefund(context.WithoutCancel(ctx), l, r, n); err != nil {
				q.log.Debug("refund rate token", "listener", l, "err", err)
			}
		}
	}
	return kept, refund, nil
}

func indexOf(picks []pick, listener string) int {
	for i, p := range picks {
		if p.e.listener == listener {
			return i
		}
	}
	return -1
}

// readSem returns listener l's semaphore with holders the view shows
// ended dropped, and the record's revision.
func (q *Queue) readSem(ctx context.Context, l string) (*semRec, uint64, error) {
	m, err := q.lastMsg(ctx, q.stStream, q.n.semSubj(l))
	if err != nil {
		return nil, 0, err
	}
	s := &semRec{Holders: map[string]semHolder{}}
	var rev uint64
	if m != nil {
		rev = m.Sequence
		if len(m.Data) > 0 {
			if err := json.Unmarshal(m.Data, s); err != nil {
				return nil, 0, fmt.Errorf("decode concurrency record of %s: %w", l, err)
			}
			if s.Holders == nil {
				s.Holders = map[string]semHolder{}
			}
		}
	}
	v := q.view
	v.mu.RLock()
	for id, h := range s.Holders {
		if v.stPos < h.Rev {
			continue // the view has not seen this claim yet: keep it
		}
		if e := v.jobs[id]; e == nil || e.state != engine.JobRunning || e.attempt != h.Attempt {
			delete(s.Holders, id)
		}
	}
	v.mu.RUnlock()
	return s, rev, nil
}

func (q *Queue) writeSem(ctx context.Context, l string, s *semRec, rev uint64) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = q.publish(ctx, casMsg(q.n.semSubj(l), data, rev))
	return err
}

// semFree is how many of listener l's c slots are free.
func (q *Queue) semFree(ctx context.Context, l string, c int) (int, error) {
	s, _, err := q.readSem(ctx, l)
	if err != nil {
		return 0, err
	}
	return max(c-len(s.Holders), 0), nil
}

// semAcquire adds hs as holders of listener l's c slots and returns those
// there was no room for.
func (q *Queue) semAcquire(ctx context.Context, l string, c int, hs []semHolder) ([]semHolder, error) {
	for try := 0; try < 8; try++ {
		s, rev, err := q.readSem(ctx, l)
		if err != nil {
			return hs, err
		}
		room := max(c-len(s.Holders), 0)
		n := min(room, len(hs))
		if n == 0 {
			return hs, nil
		}
		for _, h := range hs[:n] {
			s.Holders[h.Job] = h
		}
		err = q.writeSem(ctx, l, s, rev)
		if err == nil {
			return hs[n:], nil
		}
		if !errors.Is(err, errConflict) {
			return hs, err
		}
	}
	return hs, fmt.Errorf("%w: concurrency record of %s kept changing", engine.ErrUnavailable, l)
}

// semRelease drops job id from listener l's holders.
func (q *Queue) semRelease(ctx context.Context, l, id string) error {
	for try := 0; try < 8; try++ {
		s, rev, err := q.readSem(ctx, l)
		if err != nil {
			return err
		}
		if _, ok := s.Holders[id]; !ok {
			return nil
		}
		delete(s.Holders, id)
		err = q.writeSem(ctx, l, s, rev)
		if err == nil {
			q.signal()
			return nil
		}
		if !errors.Is(err, errConflict) {
			return err
		}
	}
	return fmt.Errorf("%w: concurrency record of %s kept changing", engine.ErrUnavailable, l)
}

// rateTake takes up to want tokens from listener l's bucket (burst r.N,
// refilled at r.N per r.Per) and returns how many it got.
func (q *Queue) rateTake(ctx context.Context, l string, r engine.Rate, want int) (int, error) {
	return q.rateChange(ctx, l, r, func(tokens float64) (float64, int) {
		got := min(want, int(math.Floor(tokens)))
		return tokens - float64(got), got
	})
}

// rateRefund puts n unused tokens back.
func (q *Queue) rateRefund(ctx context.Context, l string, r engine.Rate, n int) error {
	_, err := q.rateChange(ctx, l, r, func(tokens float64) (float64, int) {
		return math.Min(tokens+float64(n), float64(r.N)), n
	})
	return err
}

func (q *Queue) rateChange(ctx context.Context, l string, r engine.Rate, f func(float64) (float64, int)) (int, error) {
	subj := q.n.rateSubj(l)
	for try := 0; try < 8; try++ {
		m, err := q.lastMsg(ctx, q.stStream, subj)
		if err != nil {
			return 0, err
		}
		now := time.Now()
		tokens, rev := float64(r.N), uint64(0)
		if m != nil {
			rev = m.Sequence
			var rr rateRec
			if json.Unmarshal(m.Data, &rr) == nil {
				elapsed := now.Sub(time.Unix(0, rr.At))
				tokens = math.Min(float64(r.N), rr.Tokens+float64(r.N)*elapsed.Seconds()/r.Per.Seconds())
			}
		}
		left, got := f(tokens)
		if got == 0 && m != nil {
			return 0, nil
		}
		data, _ := json.Marshal(rateRec{Tokens: left, At: now.UnixNano()})
		_, err = q.publish(ctx, casMsg(subj, data, rev))
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, errConflict) {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%w: rate record of %s kept changing", engine.ErrUnavailable, l)
}
