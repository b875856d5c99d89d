package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
)

func suffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// backend is one database the tests run against.
type backend struct {
	driver string
	db     *DB
}

// backends opens SQLite always and Postgres / MySQL when their DSN
// variables are set, each isolated in its own schema or database.
func backends(t *testing.T) []backend {
	t.Helper()
	ctx := context.Background()
	var out []backend
	open := func(driver, dsn, dir string) *DB {
		t.Helper()
		d, err := Open(ctx, Options{Driver: driver, DSN: engine.Secret(dsn), MaxOpenConns: 4, Dir: dir})
		if err != nil {
			t.Fatalf("open %s: %v", driver, err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	out = append(out, backend{"sqlite", open("sqlite", "app.db", t.TempDir())})

	if dsn := os.Getenv("SWITCHBOARD_TEST_POSTGRES_DSN"); dsn != "" {
		admin := open("postgres", dsn, "")
		schema := "sb_test_" + suffix()
		if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() { admin.SQL().ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		out = append(out, backend{"postgres", open("postgres", dsn+sep+"search_path="+schema, "")})
	} else {
		t.Log("postgres: skipped, set SWITCHBOARD_TEST_POSTGRES_DSN (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run")
	}

	if dsn := os.Getenv("SWITCHBOARD_TEST_MYSQL_DSN"); dsn != "" {
		admin := open("mysql", dsn, "")
		name := "sb_test_" + suffix()
		if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() { admin.SQL().ExecContext(context.Background(), "DROP DATABASE "+name) })
		base, _, _ := strings.Cut(dsn, "?")
		i := strings.LastIndex(base, "/")
		out = append(out, backend{"mysql", open("mysql", base[:i+1]+name, "")})
	} else {
		t.Log("mysql: skipped, set SWITCHBOARD_TEST_MYSQL_DSN (e.g. root@tcp(127.0.0.1:3306)/test) to run")
	}
	return out
}

// recorder is a dry-run Recorder that remembers calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Record(module, fn string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func invocation(rec engine.Recorder) func() *engine.Invocation {
	inv := &engine.Invocation{Ctx: context.Background(), Recorder: rec}
	return func() *engine.Invocation { return inv }
}

// exports returns the module's funcs for direct calls.
func exports(t *testing.T, d *DB, rec engine.Recorder) map[string]any {
	t.Helper()
	m, ok := d.Exports(invocation(rec)).(map[string]any)
	if !ok {
		t.Fatal("exports is not a map")
	}
	return m
}

// vm returns a goja runtime with the module as the global "db".
func vm(t *testing.T, d *DB, rec engine.Recorder) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	rt.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	if err := rt.Set("db", d.Exports(invocation(rec))); err != nil {
		t.Fatal(err)
	}
	return rt
}

func exec(t *testing.T, d *DB, query string) {
	t.Helper()
	if _, err := d.SQL().Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func idColumn(driver string) string {
	switch driver {
	case "postgres":
		return "BIGSERIAL PRIMARY KEY"
	case "mysql":
		return "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY AUTOINCREMENT"
}
