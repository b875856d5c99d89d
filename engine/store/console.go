package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
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
			if err := b.Put(key, encodeSample(merged)); err != nil {
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

// A sample on disk: its key holds minute and series; the value is
// uvarint(count) uvarint(failed), then each histogram (runtime, wait) as
// uvarint(buckets used) and, per bucket used, index(1 byte) uvarint(n).
// Binary because a day's chart reads a sample per listener per minute.

func encodeSample(s engine.Sample) []byte {
	b := binary.AppendUvarint(nil, s.Count)
	b = binary.AppendUvarint(b, s.Failed)
	for _, h := range [...]*engine.Histogram{&s.Runtime, &s.Wait} {
		used := 0
		for _, n := range h.Counts {
			if n > 0 {
				used++
			}
		}
		b = binary.AppendUvarint(b, uint64(used))
		for i, n := range h.Counts {
			if n > 0 {
				b = append(b, byte(i))
				b = binary.AppendUvarint(b, n)
			}
		}
	}
	return b
}

func decodeSample(v []byte) (engine.Sample, error) {
	var s engine.Sample
	next := func() (uint64, bool) {
		n, w := binary.Uvarint(v)
		if w <= 0 {
			return 0, false
		}
		v = v[w:]
		return n, true
	}
	var ok1, ok2 bool
	s.Count, ok1 = next()
	s.Failed, ok2 = next()
	if !ok1 || !ok2 {
		return s, errCorruptSample
	}
	for _, h := range [...]*engine.Histogram{&s.Runtime, &s.Wait} {
		used, ok := next()
		if !ok || used > engine.HistogramBuckets {
			return s, errCorruptSample
		}
		for range used {
			if len(v) < 1 || int(v[0]) >= engine.HistogramBuckets {
				return s, errCorruptSample
			}
			i := v[0]
			v = v[1:]
			n, ok := next()
			if !ok {
				return s, errCorruptSample
			}
			h.Counts[i] = n
		}
	}
	return s, nil
}

var errCorruptSample = errors.New("corrupt history sample")

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
	limit = engine.PageSize(limit)
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
