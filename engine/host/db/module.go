package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var _ engine.Module = (*DB)(nil)

// Name is the export name, "db".
func (d *DB) Name() string { return "db" }

// Exports returns query, first, exec and tx. Every call runs under the
// calling job's context. In a dry run reads (SELECT, WITH, SHOW, EXPLAIN)
// still run and every write is recorded instead.
func (d *DB) Exports(cur func() *engine.Invocation) any {
	runner := func() (querier, engine.Recorder, context.Context) {
		inv := cur()
		return d.db, inv.Recorder, inv.Ctx
	}
	exports := d.funcs(runner)
	exports["tx"] = func(fn func(tx map[string]any) (any, error)) (any, error) {
		if fn == nil {
			return nil, errors.New("db.tx: expects a function")
		}
		inv := cur()
		if inv.Recorder != nil {
			// A dry run has nothing to commit: reads go to the database,
			// writes are recorded, exactly as outside tx.
			inv.Recorder.Record("db", "tx")
			return fn(d.funcs(runner))
		}
		return d.runTx(inv.Ctx, fn)
	}
	return exports
}

// runTx runs fn inside a transaction: commit when fn returns, roll back
// and hand fn's error back unchanged (so a JS exception is rethrown as is)
// when it throws.
func (d *DB) runTx(ctx context.Context, fn func(tx map[string]any) (any, error)) (any, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db.tx: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback() // a panic (interrupt) passing through: undo
		}
	}()
	obj := d.funcs(func() (querier, engine.Recorder, context.Context) { return tx, nil, ctx })
	res, err := fn(obj)
	done = true
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db.tx: commit: %w", err)
	}
	return res, nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// funcs builds query/first/exec over whatever runner returns at call time.
func (d *DB) funcs(runner func() (querier, engine.Recorder, context.Context)) map[string]any {
	return map[string]any{
		"query": func(query string, params ...any) ([]any, error) {
			q, rec, ctx := runner()
			if rec != nil && !isRead(query) {
				rec.Record("db", "query", append([]any{query}, params...)...)
				return []any{}, nil
			}
			rows, err := d.query(ctx, q, query, params, 0)
			if err != nil {
				return nil, fmt.Errorf("db.query: %w", err)
			}
			out := make([]any, len(rows))
			for i, r := range rows {
				out[i] = r
			}
			return out, nil
		},
		"first": func(query string, params ...any) (map[string]any, error) {
			q, rec, ctx := runner()
			if rec != nil && !isRead(query) {
				rec.Record("db", "first", append([]any{query}, params...)...)
				return nil, nil
			}
			rows, err := d.query(ctx, q, query, params, 1)
			if err != nil {
				return nil, fmt.Errorf("db.first: %w", err)
			}
			if len(rows) == 0 {
				return nil, nil
			}
			return rows[0], nil
		},
		"exec": func(query string, params ...any) (map[string]any, error) {
			q, rec, ctx := runner()
			if rec != nil {
				rec.Record("db", "exec", append([]any{query}, params...)...)
				return map[string]any{"rowsAffected": int64(0), "lastInsertId": nil}, nil
			}
			res, err := q.ExecContext(ctx, d.bind(query), args(params)...)
			if err != nil {
				return nil, fmt.Errorf("db.exec: %w", err)
			}
			out := map[string]any{"rowsAffected": int64(0), "lastInsertId": nil}
			if n, err := res.RowsAffected(); err == nil {
				out["rowsAffected"] = n
			}
			if d.driver != "postgres" { // pgx has no LastInsertId; use RETURNING
				if id, err := res.LastInsertId(); err == nil {
					out["lastInsertId"] = id
				}
			}
			return out, nil
		},
	}
}

func (d *DB) bind(query string) string {
	if d.driver == "postgres" {
		return rebind(query)
	}
	return query
}

// Query runs a statement outside any job (the CLI's `db query`, tests)
// and returns its rows as scripts see them, with `?` placeholders on
// every driver.
func (d *DB) Query(ctx context.Context, query string, params ...any) ([]map[string]any, error) {
	return d.query(ctx, d.db, query, params, 0)
}

// query runs a statement and returns its rows as JS-friendly maps; limit 0
// reads every row.
func (d *DB) query(ctx context.Context, q querier, query string, params []any, limit int) ([]map[string]any, error) {
	rows, err := q.QueryContext(ctx, d.bind(query), args(params)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c] = jsValue(vals[i])
		}
		out = append(out, row)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// jsValue converts a scanned column to something a script reads naturally:
// bytes become strings, times RFC 3339 strings, NULL null.
func jsValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	default:
		return x
	}
}

// args converts script parameters for the driver: objects and arrays
// become JSON text (for JSON columns), everything else passes as is.
func args(params []any) []any {
	out := make([]any, len(params))
	for i, p := range params {
		switch p.(type) {
		case map[string]any, []any:
			b, err := json.Marshal(p)
			if err != nil {
				out[i] = fmt.Sprint(p)
				continue
			}
			out[i] = string(b)
		default:
			out[i] = p
		}
	}
	return out
}
