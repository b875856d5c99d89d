package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// kvName refuses names PostgreSQL text cannot hold as given (NUL bytes,
// invalid UTF-8) and empty ones, rather than storing them under another
// name.
func kvName(what, ns, key string) error {
	for _, n := range [2][2]string{{"namespace", ns}, {"key", key}} {
		switch {
		case n[1] == "":
			return fmt.Errorf("%s: empty %s", what, n[0])
		case !utf8.ValidString(n[1]) || strings.ContainsRune(n[1], 0):
			return fmt.Errorf("%s: %s %q holds a NUL byte or invalid UTF-8, which PostgreSQL cannot store", what, n[0], n[1])
		}
	}
	return nil
}

// KVGet returns the value and true, or false if absent or expired.
func (q *Queue) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	what := fmt.Sprintf("kv get %s/%s", ns, key)
	if err := kvName(what, ns, key); err != nil {
		return nil, false, err
	}
	var v []byte
	found := false
	err := q.do(ctx, what, true, func(ctx context.Context) error {
		err := q.pool.QueryRow(ctx, q.sql(`SELECT value FROM sb_.kv WHERE ns = $1 AND key = $2
			AND (expires_at IS NULL OR expires_at > now())`), ns, key).Scan(&v)
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
	what := fmt.Sprintf("kv set %s/%s", ns, key)
	if err := kvName(what, ns, key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	us := ttl.Microseconds()
	if ttl > 0 && us == 0 {
		us = 1
	}
	return q.do(ctx, what, true, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`INSERT INTO sb_.kv (ns, key, value, expires_at)
			VALUES ($1, $2, $3, CASE WHEN $4::bigint > 0 THEN clock_timestamp() + $4::bigint * interval '1 microsecond' END)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
			ns, key, value, us)
		return err
	})
}

// KVDelete removes key; absent keys are not an error.
func (q *Queue) KVDelete(ctx context.Context, ns, key string) error {
	what := fmt.Sprintf("kv delete %s/%s", ns, key)
	if err := kvName(what, ns, key); err != nil {
		return err
	}
	return q.do(ctx, what, true, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`DELETE FROM sb_.kv WHERE ns = $1 AND key = $2`), ns, key)
		return err
	})
}
