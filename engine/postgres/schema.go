package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Job states as stored (smallint): the order of engine's life cycle.
const (
	statePending = 0
	stateRunning = 1
	stateDone    = 2
	stateFailed  = 3
	// stateEvents is the counts row that counts events.
	stateEvents = 4
)

// migrations is the schema's history: migrations[i] brings a schema at
// version i to version i+1. Entries are never edited once released; a
// change is a new entry. "sb_." stands for the configured schema.
var migrations = []string{
	// 1: the queue.
	`
CREATE SEQUENCE sb_.events_id_seq;
CREATE TABLE sb_.events (
	id          bigint PRIMARY KEY,
	name        text NOT NULL,
	source      text NOT NULL,
	delivery_id text NOT NULL DEFAULT '',
	received_at timestamptz NOT NULL,
	headers     bytea,
	payload     bytea NOT NULL,
	parent      text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL
);
CREATE TABLE sb_.jobs (
	id          bigserial PRIMARY KEY,
	event_id    bigint NOT NULL,
	listener    text NOT NULL,
	state       smallint NOT NULL,
	attempt     int NOT NULL DEFAULT 0,
	max_tries   int NOT NULL,
	crashes     int NOT NULL DEFAULT 0,
	run_at      timestamptz NOT NULL,
	lease_until timestamptz,
	owner       int,
	started     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	last_error  jsonb,
	order_key   text,
	attempts    jsonb
) WITH (fillfactor = 85);
CREATE INDEX jobs_due ON sb_.jobs (listener, run_at, id) WHERE state = 0;
CREATE INDEX jobs_lease ON sb_.jobs (lease_until) WHERE state = 1;
CREATE INDEX jobs_event ON sb_.jobs (event_id);
CREATE INDEX jobs_failed ON sb_.jobs (id) WHERE state = 3;
CREATE INDEX jobs_done ON sb_.jobs (updated_at) WHERE state = 2;
CREATE INDEX jobs_order ON sb_.jobs (listener, md5(order_key), id) WHERE order_key IS NOT NULL AND state IN (0, 1);
CREATE TABLE sb_.counts (
	listener text NOT NULL,
	state    smallint NOT NULL,
	shard    smallint NOT NULL,
	n        bigint NOT NULL,
	PRIMARY KEY (listener, state, shard)
) WITH (fillfactor = 50);
CREATE TABLE sb_.dedupe (
	key      uuid PRIMARY KEY,
	event_id bigint NOT NULL,
	seen_at  timestamptz NOT NULL
);
CREATE INDEX dedupe_seen ON sb_.dedupe USING brin (seen_at);
CREATE TABLE sb_.listeners (
	name        text PRIMARY KEY,
	paused_at   timestamptz,
	tokens      double precision,
	tokens_at   timestamptz,
	rate_n      int,
	rate_per_ms bigint
);
CREATE SEQUENCE sb_.processes_key_seq AS int CYCLE;
CREATE TABLE sb_.processes (
	key     int PRIMARY KEY,
	id      text NOT NULL UNIQUE,
	host    text NOT NULL,
	pid     int NOT NULL,
	started timestamptz NOT NULL,
	seen    timestamptz NOT NULL,
	locked  boolean NOT NULL
);
CREATE TABLE sb_.kv (
	ns         text NOT NULL,
	key        text NOT NULL,
	value      bytea NOT NULL,
	expires_at timestamptz,
	PRIMARY KEY (ns, key)
);
CREATE INDEX kv_expires ON sb_.kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE sb_.samples (
	minute  timestamptz NOT NULL,
	series  text NOT NULL,
	count   bigint NOT NULL,
	failed  bigint NOT NULL,
	runtime bigint[],
	wait    bigint[],
	PRIMARY KEY (minute, series)
);
CREATE TABLE sb_.audit (
	id     bigserial PRIMARY KEY,
	at     timestamptz NOT NULL,
	action text NOT NULL,
	target text NOT NULL,
	count  int NOT NULL,
	actor  text NOT NULL,
	detail text NOT NULL
);
CREATE INDEX audit_at ON sb_.audit (at, id);
CREATE FUNCTION sb_.add_hist(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE
		(SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
		 FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)) END
$$;
CREATE FUNCTION sb_.keep_last(a jsonb, n int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_array_length(a) <= n THEN a ELSE
		(SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(a) WITH ORDINALITY AS t(e, i)
		 WHERE i > jsonb_array_length(a) - n) END
$$;
`,
	// 2: Job.Suspect (a job taken back unstarted from a dead process).
	`ALTER TABLE sb_.jobs ADD COLUMN suspect boolean NOT NULL DEFAULT false;`,
	// 3: the token of the lease statement that claimed a running job, so
	// that the jobs of a lease whose answer was lost can be given back.
	`ALTER TABLE sb_.jobs ADD COLUMN lease_token bigint;`,
}

// SchemaVersion is the schema version this build writes and reads.
var SchemaVersion = len(migrations)

// ErrSchemaTooNew is wrapped by Open when the database holds a schema a
// newer switchboard wrote.
var ErrSchemaTooNew = errors.New("schema is newer than this switchboard")

// lockClass is the first key of every advisory lock this schema takes:
// processes of one schema contend, other schemas' never do.
func lockClass(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte("switchboard:" + schema))
	return int32(h.Sum32() & 0x7fffffff)
}

// Second advisory lock keys under lockClass. Process liveness locks use
// the process key, which is positive.
const (
	lockMigrate = 0
	lockPrune   = -1
)

// expand replaces the schema placeholder in sql.
func expand(schema, sql string) string {
	return strings.ReplaceAll(sql, "sb_.", pgx.Identifier{schema}.Sanitize()+".")
}

// migrate brings the schema up to SchemaVersion inside one transaction
// holding the schema's migration lock, so processes starting together
// apply each migration once and the others wait, then find it applied.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClass(schema), lockMigrate); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		boot := expand(schema, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE IF NOT EXISTS sb_.schema_version (
	version    int PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`)
		if _, err := tx.Exec(ctx, boot); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
		var have int
		if err := tx.QueryRow(ctx, expand(schema, `SELECT coalesce(max(version), 0) FROM sb_.schema_version`)).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have > SchemaVersion {
			return fmt.Errorf("%w: schema %q is at version %d and this binary knows versions up to %d; run a switchboard at least as new as the one that upgraded it",
				ErrSchemaTooNew, schema, have, SchemaVersion)
		}
		for v := have; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, expand(schema, migrations[v])); err != nil {
				return fmt.Errorf("migrate schema %s to version %d: %w", schema, v+1, err)
			}
			if _, err := tx.Exec(ctx, expand(schema, `INSERT INTO sb_.schema_version (version) VALUES ($1)`), v+1); err != nil {
				return fmt.Errorf("record schema version %d: %w", v+1, err)
			}
		}
		return nil
	})
}
