package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// What the operator console stores: pause state, per-minute history, the
// audit list, and the process list (for bbolt, always this process).

// SetPaused pauses or resumes listener: a paused listener's jobs are
// stored as usual but Lease claims none. The state is in the file, so it
// survives restarts.
func (q *Queue) SetPaused(ctx context.Context, listener string, paused bool) error {
	if listener == "" {
		return fmt.Errorf("pause: no listener named")
	}
	err := q.submit(ctx, func(t *txn) error {
		b := t.bucket(bPaused)
		switch {
		case paused && b.Get([]byte(listener)) == nil:
			return b.Put([]byte(listener), u64(nanos(t.now)))
		case !paused && b.Get([]byte(listener)) != nil:
			t.fx.ready = true // its due jobs may be claimed now
			return b.Delete([]byte(listener))
		}
		return nil
	})
	if err != nil {
		verb := "resume"
		if paused {
			verb = "pause"
		}
		return fmt.Errorf("%s listener %s: %w", verb, listener, err)
	}
	return nil
}

func pausedListeners(tx *bolt.Tx) map[string]time.Time {
	out := map[string]time.Time{}
	tx.Bucket(bPaused).ForEach(func(k, v []byte) error {
		if len(v) == 8 {
			out[string(k)] = fromNanos(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out
}

// AddSamples merges samples into the stored history: samples of the same
// (Minute, Series) add up.
func (q *Queue) AddSamples(ctx context.Context, samples []engine.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	in := append([]engine.Sample(nil), samples...)
	err := q.submit(ctx, func(t *txn) error {
		b := t.bucket(bHist)
		for _, s := range in {
			key := tkey(s.Minute.UTC().Truncate(time.Minute), s.Series)
			merged := s
			if v := b.Get(key); v != nil {
				old, err := decodeSample(v)
				if err != nil {
					return fmt.Errorf("history %s: %w", s.Series, err)
				}
				old.Add(s)
				merged = old
			}
			data, err := json.Marshal(sampleRecord(merged))
			if err != nil {
				return err
			}
			if err := b.Put(key, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add history samples: %w", err)
	}
	return nil
}

// Samples returns the stored samples with from <= Minute < to, ordered by
// Minute then Series.
func (q *Queue) Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error) {
	var out []engine.Sample
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bHist).Cursor()
		end := nanos(to)
		for k, v := c.Seek(tkey(from, "")); k != nil && binary.BigEndian.Uint64(k) < end; k, v = c.Next() {
			at, series := splitTkey(k)
			s, err := decodeSample(v)
			if err != nil {
				return fmt.Errorf("history %s: %w", series, err)
			}
			s.Minute, s.Series = at.UTC(), series
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// storedSample is a Sample on disk: the key holds minute and series, and
// the histograms are sparse (bucket index → count).
type storedSample struct {
	Count   uint64         `json:"c"`
	Failed  uint64         `json:"f,omitempty"`
	Runtime map[int]uint64 `json:"r,omitempty"`
	Wait    map[int]uint64 `json:"w,omitempty"`
}

func sampleRecord(s engine.Sample) storedSample {
	return storedSample{Count: s.Count, Failed: s.Failed, Runtime: sparse(s.Runtime), Wait: sparse(s.Wait)}
}

func sparse(h engine.Histogram) map[int]uint64 {
	var m map[int]uint64
	for i, n := range h.Counts {
		if n > 0 {
			if m == nil {
				m = map[int]uint64{}
			}
			m[i] = n
		}
	}
	return m
}

func decodeSample(v []byte) (engine.Sample, error) {
	var r storedSample
	if err := json.Unmarshal(v, &r); err != nil {
		return engine.Sample{}, err
	}
	s := engine.Sample{Count: r.Count, Failed: r.Failed}
	for i, n := range r.Runtime {
		if i >= 0 && i < engine.HistogramBuckets {
			s.Runtime.Counts[i] = n
		}
	}
	for i, n := range r.Wait {
		if i >= 0 && i < engine.HistogramBuckets {
			s.Wait.Counts[i] = n
		}
	}
	return s, nil
}

// Audit durably appends an operator action.
func (q *Queue) Audit(ctx context.Context, e engine.AuditEntry) error {
	if e.At.IsZero() {
		e.At = q.now()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	err = q.submit(ctx, func(t *txn) error {
		b := t.bucket(bAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(tkey(e.At, string(u64(seq))), data)
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns up to limit entries (default 50), newest first, older
// than before (zero: from the newest).
func (q *Queue) ListAudit(ctx context.Context, limit int, before time.Time) ([]engine.AuditEntry, error) {
	limit = clampLimit(limit)
	var out []engine.AuditEntry
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		var k, v []byte
		if before.IsZero() {
			k, v = c.Last()
		} else {
			k, v = seekBefore(c, string(tkey(before, "")))
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			var e engine.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// Processes lists the processes using the queue: with bbolt only this one
// can (the file is locked), so it is always alive.
func (q *Queue) Processes(ctx context.Context) ([]engine.Process, error) {
	p := q.self
	p.Seen = q.now().UTC()
	return []engine.Process{p}, nil
}

// newProcess describes this process.
func newProcess(now time.Time) engine.Process {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return engine.Process{
		ID:   fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(host, " ", "_"), pid, now.UnixNano()),
		Host: host, PID: pid, Started: now.UTC(),
	}
}
