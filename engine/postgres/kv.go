package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// KVGet returns the value and true, or false if absent or expired.
func (q *Queue) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	var v []byte
	found := false
	err := q.do(ctx, fmt.Sprintf("kv get %s/%s", ns, key), true, func(ctx context.Context) error {
		err := q.pool.QueryRow(ctx, q.sql(`SELECT value FROM sb_.kv WHERE ns = $1 AND key = $2
			AND (expires_at IS NULL OR expires_at > now())`), cleanText(ns), cleanText(key)).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil || !found {
		return nil, false, err
	}
	return v, true, nil
}

// KVSet stores value for every process; ttl 0 keeps it until deleted.
func (q *Queue) KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error {
	if value == nil {
		value = []byte{}
	}
	us := ttl.Microseconds()
	if ttl > 0 && us == 0 {
		us = 1
	}
	return q.do(ctx, fmt.Sprintf("kv set %s/%s", ns, key), true, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`INSERT INTO sb_.kv (ns, key, value, expires_at)
			VALUES ($1, $2, $3, CASE WHEN $4::bigint > 0 THEN clock_timestamp() + $4::bigint * interval '1 microsecond' END)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
			cleanText(ns), cleanText(key), value, us)
		return err
	})
}

// KVDelete removes key; absent keys are not an error.
func (q *Queue) KVDelete(ctx context.Context, ns, key string) error {
	return q.do(ctx, fmt.Sprintf("kv delete %s/%s", ns, key), true, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`DELETE FROM sb_.kv WHERE ns = $1 AND key = $2`), cleanText(ns), cleanText(key))
		return err
	})
}
