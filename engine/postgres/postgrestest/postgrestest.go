// Package postgrestest gives tests a PostgreSQL database: its address
// from SWITCHBOARD_TEST_POSTGRES_DSN (or a skip that says how to set it)
// and throwaway schemas, or a private server of their own to stop, crash
// and freeze (Start), as natstest gives them NATS servers.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the test database.
const EnvDSN = "SWITCHBOARD_TEST_POSTGRES_DSN"

// DSN returns the test database, or skips the test; what says what is
// skipped ("the PostgreSQL queue tests").
func DSN(t testing.TB, what string) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skipf("%s is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); skipping %s", EnvDSN, what)
	}
	return dsn
}

// Schema returns a fresh schema name starting with prefix, dropped with
// everything in it when the test ends. Register the cleanups of whatever
// uses it (a queue's Close) after calling Schema, so they run first.
func Schema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
