package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard/switchboard/engine"
)

// errKind sorts a failed statement by what a retry may do.
type errKind int

const (
	// errPermanent: the statement is wrong for good (bad data, missing
	// table, permission); retrying repeats the failure.
	errPermanent errKind = iota
	// errRolledBack: the server rolled the transaction back (serialization
	// failure, deadlock); running it again is always safe.
	errRolledBack
	// errConnection: the connection or the server went away. If nothing
	// was sent (pgconn.SafeToRetry) a retry is safe; otherwise a write may
	// or may not have committed.
	errConnection
)

func classify(err error) errKind {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return errRolledBack
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004":
			// admin/crash shutdown, cannot connect now, too many connections,
			// connection exceptions.
			return errConnection
		}
		return errPermanent
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), pgconn.SafeToRetry(err):
		return errConnection
	}
	if err != nil && (err.Error() == "conn closed" || err.Error() == "conn busy") {
		return errConnection
	}
	return errPermanent
}

// backoffs are the waits between attempts of one call.
var backoffs = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond}

// do runs fn, retrying what may be retried within the call's timeout:
// rolled-back transactions always, connection failures when nothing was
// sent or fn is idempotent (reads, fenced updates that a second run
// cannot apply twice). While the database is known to be down a failed
// connection is not retried, so callers learn it at once. what says what
// was being done; errors that concern the connection wrap
// engine.ErrUnavailable.
func (q *Queue) do(ctx context.Context, what string, idempotent bool, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	wasDown := q.down.Load()
	var err error
	for i := 0; ; i++ {
		err = fn(ctx)
		if err == nil {
			q.down.Store(false)
			return nil
		}
		kind := classify(err)
		if kind == errConnection {
			q.down.Store(true)
		}
		retry := kind == errRolledBack ||
			(kind == errConnection && (idempotent || pgconn.SafeToRetry(err)) && !wasDown)
		if !retry || i >= len(backoffs) || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(backoffs[i])
		select {
		case <-ctx.Done():
			t.Stop()
			return q.wrap(what, err)
		case <-t.C:
		}
	}
	return q.wrap(what, err)
}

// wrap says what was being done; a connection failure or timeout also
// wraps engine.ErrUnavailable.
func (q *Queue) wrap(what string, err error) error {
	if errors.Is(err, engine.ErrUnavailable) || errors.Is(err, engine.ErrNotFound) ||
		errors.Is(err, engine.ErrLeaseLost) || errors.Is(err, engine.ErrConflict) || errors.Is(err, engine.ErrDuplicate) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if classify(err) != errPermanent || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", what, engine.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
