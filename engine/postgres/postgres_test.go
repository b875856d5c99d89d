package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard/switchboard/engine"
)

// TestOpen_ConcurrentMigration: ten processes opening a new schema at
// once all succeed and each migration is applied once.
func TestOpen_ConcurrentMigration(t *testing.T) {
	dsn := testDSN(t)
	schema := testSchema(t, dsn)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Options{DSN: suiteDSN(dsn), Schema: schema}
			quick(&o)
			q, err := Open(context.Background(), o)
			if err != nil {
				errs <- err
				return
			}
			errs <- q.Close(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	var rows, top int
	if err := pgxQueryRow(t, dsn, `SELECT count(*), max(version) FROM `+pgx.Identifier{schema, "schema_version"}.Sanitize()).Scan(&rows, &top); err != nil {
		t.Fatal(err)
	}
	if rows != SchemaVersion || top != SchemaVersion {
		t.Fatalf("schema_version holds %d rows up to %d, want %d once each", rows, top, SchemaVersion)
	}
}

// TestOpen_SchemaTooNew: a schema a newer binary wrote is refused with an
// error that says so, and nothing is changed.
func TestOpen_SchemaTooNew(t *testing.T) {
	q := openTest(t, Options{})
	q.Close(context.Background())
	pgxExec(t, q.opts.DSN, `INSERT INTO `+pgx.Identifier{q.opts.Schema, "schema_version"}.Sanitize()+` (version) VALUES ($1)`, SchemaVersion+5)
	_, err := Open(context.Background(), q.opts)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", SchemaVersion+5)) {
		t.Fatalf("open over a newer schema: err = %v, want ErrSchemaTooNew naming version %d", err, SchemaVersion+5)
	}
}

// TestOptions_Invalid: bad options are refused by name before connecting.
func TestOptions_Invalid(t *testing.T) {
	for name, o := range map[string]Options{
		"no dsn":         {},
		"schema":         {DSN: "postgres://x/y", Schema: "Bad-Name"},
		"window":         {DSN: "postgres://x/y", HeartbeatInterval: time.Second, HeartbeatWindow: time.Second},
		"negative depth": {DSN: "postgres://x/y", MaxDepth: -1},
	} {
		if _, err := Open(context.Background(), o); err == nil {
			t.Errorf("%s: Open accepted %+v", name, o)
		}
	}
}

// TestClassify: which failures are retried, and how.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want errKind
	}{
		{&pgconn.PgError{Code: "40001"}, errRolledBack},
		{&pgconn.PgError{Code: "40P01"}, errRolledBack},
		{&pgconn.PgError{Code: "57P01"}, errConnection},
		{&pgconn.PgError{Code: "08006"}, errConnection},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), errConnection},
		{&pgconn.PgError{Code: "23505"}, errPermanent},
		{&pgconn.PgError{Code: "42P01"}, errPermanent},
		{errors.New("cannot encode"), errPermanent},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	q := &Queue{opts: Options{Timeout: time.Second}}
	err := q.wrap("store events", &pgconn.PgError{Code: "57P01", Message: "terminating connection"})
	if !errors.Is(err, engine.ErrUnavailable) || !strings.HasPrefix(err.Error(), "store events: ") {
		t.Fatalf("wrap of a shutdown = %v, want ErrUnavailable and what was being done", err)
	}
	if err := q.wrap("list jobs", &pgconn.PgError{Code: "42P01"}); errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("a permanent failure wraps ErrUnavailable: %v", err)
	}
}

// TestDo_RetriesRolledBack: a serialization failure is retried until the
// statement succeeds.
func TestDo_RetriesRolledBack(t *testing.T) {
	q := &Queue{opts: Options{Timeout: 5 * time.Second}}
	n := 0
	err := q.do(context.Background(), "x", false, func(context.Context) error {
		if n++; n < 3 {
			return &pgconn.PgError{Code: "40001"}
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("do = %v after %d runs, want success on the third", err, n)
	}
	n = 0
	err = q.do(context.Background(), "x", false, func(context.Context) error { n++; return &pgconn.PgError{Code: "23505"} })
	if err == nil || n != 1 {
		t.Fatalf("a permanent failure ran %d times (err %v), want once", n, err)
	}
}

// TestEnqueue_GroupCommit: concurrent Enqueue calls share statements,
// and every one of them is stored.
func TestEnqueue_GroupCommit(t *testing.T) {
	q := openTest(t, Options{})
	const workers, each = 64, 20
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := &engine.Event{Name: "e", Source: "s", Payload: fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i)}
				id, err := q.Enqueue(context.Background(), ev, []engine.NewJob{{Listener: "l", MaxTries: 1}})
				if err != nil {
					t.Errorf("enqueue: %v", err)
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %s returned twice", id)
		}
		seen[id] = true
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stmts := q.enqueueStatements.Load()
	if len(seen) != workers*each || st.Events != workers*each || st.States[engine.JobPending] != workers*each {
		t.Fatalf("stored %d ids, %d events, %d pending jobs; want %d each", len(seen), st.Events, st.States[engine.JobPending], workers*each)
	}
	if stmts >= uint64(workers*each) {
		t.Fatalf("%d events took %d statements: no group commit", workers*each, stmts)
	}
	t.Logf("%d events in %d statements", workers*each, stmts)
}

// TestEnqueue_BadEventAlone: an event the database refuses fails alone;
// the others of its batch are stored.
func TestEnqueue_BadEventAlone(t *testing.T) {
	q := openTest(t, Options{})
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			listener := "l"
			if i == 7 {
				listener = randomText(8000) // too big for the index: the database refuses the row
			}
			_, errs[i] = q.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)},
				[]engine.NewJob{{Listener: listener, MaxTries: 1}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Fatalf("enqueue %d: err = %v", i, err)
		}
	}
	if st, _ := q.Stats(context.Background()); st.Events != 15 {
		t.Fatalf("%d events stored, want 15", st.Events)
	}
}

// TestPrune_OneProcessAtATime: the background pruner skips a round while
// another process holds the prune lock; Prune waits for it.
func TestPrune_OneProcessAtATime(t *testing.T) {
	q := openTest(t, Options{DedupeWindow: time.Millisecond})
	if _, err := q.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s", DeliveryID: "d", Payload: []byte(`{}`)}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	conn, err := pgx.Connect(context.Background(), testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `SELECT pg_advisory_xact_lock($1, $2)`, q.class, lockPrune); err != nil {
		t.Fatal(err)
	}
	if n, err := q.prune(context.Background(), false); err != nil || n != 0 {
		t.Fatalf("prune while another holds the lock: %d, %v; want 0 (skipped)", n, err)
	}
	done := make(chan int)
	go func() {
		n, err := q.Prune(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	select {
	case n := <-done:
		t.Fatalf("Prune returned %d while another process held the lock", n)
	case <-time.After(300 * time.Millisecond):
	}
	tx.Rollback(context.Background())
	if n := <-done; n != 1 {
		t.Fatalf("Prune after the lock was released deleted %d, want the 1 dedupe record", n)
	}
}

func terminateSession(t *testing.T, q *Queue) {
	t.Helper()
	q.session.mu.Lock()
	pid := q.session.conn.PgConn().PID()
	q.session.mu.Unlock()
	pgxExec(t, testDSN(t), `SELECT pg_terminate_backend($1)`, pid)
}

func drain(q *Queue) {
	for {
		select {
		case <-q.Ready():
		default:
			return
		}
	}
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pgxExec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

type rowScanner struct {
	conn *pgx.Conn
	row  pgx.Row
}

func (r rowScanner) Scan(dest ...any) error {
	defer r.conn.Close(context.Background())
	return r.row.Scan(dest...)
}

func pgxQueryRow(t testing.TB, dsn, sql string, args ...any) rowScanner {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return rowScanner{conn, conn.QueryRow(context.Background(), sql, args...)}
}

// randomText is n bytes of incompressible hex.
func randomText(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestEnqueue_LongKeys: delivery ids and ordering keys of any length are
// deduped and ordered (they are indexed by hash).
func TestEnqueue_LongKeys(t *testing.T) {
	q := openTest(t, Options{DedupeWindow: time.Hour})
	long, key := randomText(20000), randomText(20000)
	ev := func() *engine.Event {
		return &engine.Event{Name: "e", Source: "s", DeliveryID: long, Payload: []byte(`{}`)}
	}
	first, err := q.Enqueue(context.Background(), ev(), []engine.NewJob{{Listener: "l", MaxTries: 1, OrderKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := q.Enqueue(context.Background(), ev(), nil)
	if !errors.Is(err, engine.ErrDuplicate) || again != first {
		t.Fatalf("second delivery: %s, %v; want %s and ErrDuplicate", again, err, first)
	}
	if _, err := q.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)},
		[]engine.NewJob{{Listener: "l", MaxTries: 1, OrderKey: key}}); err != nil {
		t.Fatal(err)
	}
	ls, err := q.Lease(context.Background(), 10, map[string]engine.Quota{"l": {Max: 10, LeaseFor: time.Minute}})
	if err != nil || len(ls) != 1 || ls[0].Job.OrderKey != key || ls[0].Event.ID != first {
		t.Fatalf("lease: %d jobs, %v; want the first event's job alone, its key intact", len(ls), err)
	}
}

// TestOpen_Upgrade: a schema at version 1 (no suspect column) is brought
// to the current version at Open, its rows kept.
func TestOpen_Upgrade(t *testing.T) {
	dsn := testDSN(t)
	schema := testSchema(t, dsn)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	v1 := expand(schema, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE sb_.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
`+migrations[0]+`
INSERT INTO sb_.schema_version (version) VALUES (1);
INSERT INTO sb_.events (id, name, source, received_at, payload, created_at) VALUES (1, 'e', 's', now(), '{}', now());
INSERT INTO sb_.jobs (event_id, listener, state, max_tries, run_at, created_at, updated_at) VALUES (1, 'l', 0, 1, now(), now(), now());`)
	if _, err := conn.Exec(context.Background(), v1); err != nil {
		t.Fatal(err)
	}
	o := Options{DSN: dsn, Schema: schema}
	quick(&o)
	q, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open a version 1 schema: %v", err)
	}
	defer q.Close(context.Background())
	j, err := q.GetJob(context.Background(), formatID(jobPrefix, 1))
	if err != nil || j.Suspect || j.State != engine.JobPending {
		t.Fatalf("the version 1 job after the upgrade: %+v, %v", j, err)
	}
	var v int
	if err := conn.QueryRow(context.Background(), expand(schema, `SELECT max(version) FROM sb_.schema_version`)).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d (%v), want %d", v, err, SchemaVersion)
	}
}
