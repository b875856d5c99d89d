package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// pruneChunk bounds the keys one prune transaction deletes or inspects, so
// a large backlog does not hold the writer (and every ingest) for long.
const pruneChunk = 1000

// Prune deletes done jobs finished more than Retention ago, events stored
// more than Retention ago that have no jobs left, dedupe records older than
// DedupeWindow, expired KV entries, and history and audit entries older
// than HistoryRetention. Failed jobs stay until forgotten.
// It works in transactions of at most pruneChunk keys and returns how many
// records it deleted. Open runs it periodically.
func (q *Queue) Prune(ctx context.Context) (int, error) {
	total := 0
	var evAfter []byte // resume point in the event-time index for this call
	for {
		var n int
		var more bool
		err := q.submit(ctx, func(t *txn) error {
			var err error
			n, more, evAfter, err = t.prune(evAfter)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune queue: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// prune does one bounded pass and reports whether work may remain.
func (t *txn) prune(evAfter []byte) (deleted int, more bool, next []byte, err error) {
	budget := pruneChunk
	if r := t.q.opts.Retention; r > 0 {
		cut := t.now.Add(-r)
		n, err := t.pruneDone(cut, budget)
		if err != nil {
			return deleted, false, evAfter, err
		}
		deleted, budget = deleted+n, budget-n
		if budget <= 0 {
			// Events are looked at only once their done jobs are gone,
			// or this call's resume point would pass them by.
			return deleted, true, evAfter, nil
		}
		var seen int
		seen, n, next, err = t.pruneEvents(cut, evAfter, budget)
		if err != nil {
			return deleted, false, evAfter, err
		}
		deleted, budget = deleted+n, budget-seen
		evAfter = next
	}
	if w := t.q.opts.DedupeWindow; w > 0 && budget > 0 {
		n, err := t.pruneDedupe(t.now.Add(-w), budget)
		if err != nil {
			return deleted, false, evAfter, err
		}
		deleted, budget = deleted+n, budget-n
	}
	if budget > 0 {
		n, err := t.pruneKV(budget)
		if err != nil {
			return deleted, false, evAfter, err
		}
		deleted, budget = deleted+n, budget-n
	}
	cut := t.now.Add(-t.q.opts.HistoryRetention)
	for _, b := range [][]byte{bHist, bAudit} {
		if budget <= 0 {
			break
		}
		n, err := t.pruneBefore(b, cut, budget)
		if err != nil {
			return deleted, false, evAfter, err
		}
		deleted, budget = deleted+n, budget-n
	}
	return deleted, budget <= 0, evAfter, nil
}

// pruneDone deletes up to limit done jobs finished before cut.
func (t *txn) pruneDone(cut time.Time, limit int) (int, error) {
	keys := t.keysBefore(bDone, cut, limit)
	for _, k := range keys {
		_, id := splitTkey(k)
		j, err := t.getJob(id)
		if err != nil {
			return 0, err
		}
		if j == nil || j.State != engine.JobDone {
			// An index entry without its job: drop the entry.
			if err := t.bucket(bDone).Delete(k); err != nil {
				return 0, err
			}
			continue
		}
		if err := t.deleteJob(j); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// pruneEvents inspects up to limit events stored before cut, after key
// from, and deletes those with no jobs left. It returns how many it
// inspected and deleted, and the last key inspected.
func (t *txn) pruneEvents(cut time.Time, from []byte, limit int) (seen, deleted int, last []byte, err error) {
	last = from
	var victims [][]byte
	c := t.bucket(bEvTime).Cursor()
	var k []byte
	if from == nil {
		k, _ = c.First()
	} else if k, _ = c.Seek(from); k != nil && bytes.Equal(k, from) {
		k, _ = c.Next()
	}
	for ; k != nil && seen < limit; k, _ = c.Next() {
		at, id := splitTkey(k)
		if !at.Before(cut) {
			break
		}
		seen++
		last = bytes.Clone(k)
		if !hasJobs(t.tx, id) {
			victims = append(victims, last)
		}
	}
	for _, k := range victims {
		_, id := splitTkey(k)
		if err := t.bucket(bEvTime).Delete(k); err != nil {
			return seen, deleted, last, fmt.Errorf("delete event %s: %w", id, err)
		}
		if err := t.bucket(bEvents).Delete([]byte(id)); err != nil {
			return seen, deleted, last, fmt.Errorf("delete event %s: %w", id, err)
		}
		if err := t.add(eventsKey, -1); err != nil {
			return seen, deleted, last, err
		}
		deleted++
	}
	return seen, deleted, last, nil
}

// pruneDedupe deletes up to limit dedupe records seen before cut.
func (t *txn) pruneDedupe(cut time.Time, limit int) (int, error) {
	keys := t.keysBefore(bDedupeT, cut, limit)
	for _, k := range keys {
		dk := k[8:]
		// The record may have been renewed since; delete it only if this
		// index entry is its current one.
		if v := t.bucket(bDedupe).Get(dk); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
			if err := t.bucket(bDedupe).Delete(dk); err != nil {
				return 0, fmt.Errorf("delete dedupe record: %w", err)
			}
		}
		if err := t.bucket(bDedupeT).Delete(k); err != nil {
			return 0, fmt.Errorf("delete dedupe record: %w", err)
		}
	}
	return len(keys), nil
}

// pruneKV deletes up to limit KV entries that expired by now.
func (t *txn) pruneKV(limit int) (int, error) {
	keys := t.keysBefore(bKVExp, t.now.Add(1), limit) // expired at or before now
	for _, k := range keys {
		if ns, key, ok := splitKVIndexKey(k); ok {
			if nb := t.bucket(bKV).Bucket([]byte(ns)); nb != nil {
				v := nb.Get([]byte(key))
				if len(v) >= 8 && bytes.Equal(v[:8], k[:8]) && binary.BigEndian.Uint64(v) != 0 {
					if err := nb.Delete([]byte(key)); err != nil {
						return 0, fmt.Errorf("delete kv %s/%s: %w", ns, key, err)
					}
				}
			}
		}
		if err := t.bucket(bKVExp).Delete(k); err != nil {
			return 0, fmt.Errorf("delete kv expiry: %w", err)
		}
	}
	return len(keys), nil
}

// keysBefore returns (copies of) up to limit keys of the tkey-keyed
// bucket name, oldest first, whose time is before cut.
func (t *txn) keysBefore(name []byte, cut time.Time, limit int) [][]byte {
	var keys [][]byte
	c := t.bucket(name).Cursor()
	for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
		if at, _ := splitTkey(k); !at.Before(cut) {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// pruneBefore deletes up to limit keys of a tkey-keyed bucket older than cut.
func (t *txn) pruneBefore(name []byte, cut time.Time, limit int) (int, error) {
	keys := t.keysBefore(name, cut, limit)
	for _, k := range keys {
		if err := t.bucket(name).Delete(k); err != nil {
			return 0, fmt.Errorf("prune %s: %w", name, err)
		}
	}
	return len(keys), nil
}
