package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"

	"github.com/switchboard/switchboard/engine"
)

// DB is an open application database. It is safe for concurrent use.
type DB struct {
	db     *sql.DB
	driver string
}

// Options name the application database. cmd/switchboard maps
// [database] onto them.
type Options struct {
	// Driver is "sqlite", "postgres" or "mysql".
	Driver string
	// DSN is a path (or file: URI) for SQLite, a URL or DSN otherwise. It
	// may hold a password, so it never appears in an error.
	DSN engine.Secret
	// MaxOpenConns bounds the pool (0: database/sql's default, unbounded).
	MaxOpenConns int
	// Dir is what a relative SQLite path is resolved against.
	Dir string
}

// Open connects to the database opts name and checks it answers. A
// relative SQLite path is resolved against opts.Dir and its directory
// created; SQLite runs with WAL, busy_timeout 5000 and foreign keys on.
// MySQL DSNs get parseTime=true.
func Open(ctx context.Context, opts Options) (*DB, error) {
	var (
		name string
		dsn  = opts.DSN.Reveal()
		err  error
	)
	switch opts.Driver {
	case "sqlite":
		name = "sqlite"
		dsn, err = sqliteDSN(dsn, opts.Dir)
	case "postgres":
		name = "pgx"
	case "mysql":
		name = "mysql"
		dsn, err = mysqlDSN(dsn)
	default:
		return nil, fmt.Errorf("open database: driver %q is not one of sqlite, postgres, mysql", opts.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", opts.Driver, err)
	}
	sdb, err := sql.Open(name, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", opts.Driver, err)
	}
	if opts.MaxOpenConns > 0 {
		sdb.SetMaxOpenConns(opts.MaxOpenConns)
		sdb.SetMaxIdleConns(opts.MaxOpenConns)
	}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		// The DSN may hold a password: name the driver, not the DSN.
		return nil, fmt.Errorf("connect to %s database: %w", opts.Driver, err)
	}
	return &DB{db: sdb, driver: opts.Driver}, nil
}

// Close closes the connection pool. It is safe to call more than once.
func (d *DB) Close() error {
	if d == nil || d.db == nil {
		return nil
	}
	return d.db.Close()
}

// SQL returns the underlying pool, for setup code (schema, seeds, tests).
func (d *DB) SQL() *sql.DB { return d.db }

// Driver returns "sqlite", "postgres" or "mysql".
func (d *DB) Driver() string { return d.driver }

// sqlitePragmas are applied unless the DSN already sets the same pragma.
var sqlitePragmas = []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)"}

func sqliteDSN(dsn, baseDir string) (string, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" {
		return "", fmt.Errorf("database.dsn is empty")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("database.dsn query: %w", err)
	}
	memory := path == ":memory:" || q.Get("mode") == "memory"
	if !memory {
		if !filepath.IsAbs(path) {
			path = filepath.Join(baseDir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", fmt.Errorf("create database directory: %w", err)
		}
	}
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		set[pragmaName(p)] = true
	}
	for _, p := range sqlitePragmas {
		if !set[pragmaName(p)] && !(memory && strings.HasPrefix(p, "journal_mode")) {
			q.Add("_pragma", p)
		}
	}
	return "file:" + path + "?" + q.Encode(), nil
}

func pragmaName(p string) string {
	name, _, _ := strings.Cut(p, "(")
	name, _, _ = strings.Cut(name, "=")
	return strings.ToLower(strings.TrimSpace(name))
}

func mysqlDSN(dsn string) (string, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("database.dsn: %w", err)
	}
	c.ParseTime = true
	return c.FormatDSN(), nil
}
