package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestDB_QueryFirstExec(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.driver, func(t *testing.T) {
			table := "items_" + suffix()
			ts := "TIMESTAMP"
			if b.driver == "mysql" {
				ts = "DATETIME"
			}
			exec(t, b.db, "CREATE TABLE "+table+" (id "+idColumn(b.driver)+", name VARCHAR(50), note TEXT, n INTEGER, at "+ts+")")
			m := exports(t, b.db, nil)
			execFn := m["exec"].(func(string, ...any) (map[string]any, error))
			res, err := execFn("INSERT INTO "+table+" (name, note, n, at) VALUES (?, ?, ?, ?)", "a?b", nil, int64(7), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if res["rowsAffected"] != int64(1) {
				t.Errorf("rowsAffected = %v", res["rowsAffected"])
			}
			if b.driver != "postgres" && res["lastInsertId"] != int64(1) {
				t.Errorf("lastInsertId = %v", res["lastInsertId"])
			}
			if _, err := execFn("INSERT INTO "+table+" (name, note, n) VALUES ('it''s?', ?, ?)", map[string]any{"k": "v"}, int64(8)); err != nil {
				t.Fatal(err)
			}

			rows, err := m["query"].(func(string, ...any) ([]any, error))("SELECT id, name, note, n, at FROM " + table + " ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("rows = %v", rows)
			}
			r0, r1 := rows[0].(map[string]any), rows[1].(map[string]any)
			if r0["id"] != int64(1) || r0["name"] != "a?b" || r0["note"] != nil || r0["n"] != int64(7) {
				t.Errorf("row 0 = %#v", r0)
			}
			if at, _ := r0["at"].(string); !strings.HasPrefix(at, "2025-01-02T03:04:05") {
				t.Errorf("at = %#v, want an RFC 3339 string", r0["at"])
			}
			if r1["name"] != "it's?" || r1["note"] != `{"k":"v"}` {
				t.Errorf("row 1 = %#v", r1)
			}

			first := m["first"].(func(string, ...any) (map[string]any, error))
			got, err := first("SELECT name FROM "+table+" WHERE n = ?", int64(8))
			if err != nil || got["name"] != "it's?" {
				t.Errorf("first = %v, %v", got, err)
			}
			none, err := first("SELECT name FROM "+table+" WHERE n = ?", int64(99))
			if err != nil || none != nil {
				t.Errorf("first of nothing = %v, %v", none, err)
			}
			if _, err := first("SELECT nope FROM " + table); err == nil || !strings.Contains(err.Error(), "db.first") {
				t.Errorf("bad column error = %v", err)
			}
		})
	}
}

func TestDB_JS(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.driver, func(t *testing.T) {
			table := "js_" + suffix()
			exec(t, b.db, "CREATE TABLE "+table+" (id "+idColumn(b.driver)+", name VARCHAR(50) NOT NULL)")
			rt := vm(t, b.db, nil)
			rt.Set("T", table)
			v, err := rt.RunString(`
				db.exec("INSERT INTO " + T + " (name) VALUES (?), (?)", "ada", "grace");
				db.tx(tx => { tx.exec("INSERT INTO " + T + " (name) VALUES (?)", "linus"); });
				let msg = "";
				try {
					db.tx(tx => {
						tx.exec("INSERT INTO " + T + " (name) VALUES (?)", "rolled back");
						throw new Error("boom");
					});
				} catch (e) { msg = e.message; }
				const rows = db.query("SELECT name FROM " + T + " ORDER BY id");
				const one = db.first("SELECT COUNT(*) AS c FROM " + T + " WHERE name = ?", "ada");
				const ret = db.tx(tx => tx.first("SELECT name FROM " + T + " WHERE id = ?", 1).name);
				JSON.stringify({names: rows.map(r => r.name), msg, c: Number(one.c), ret});
			`)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"names":["ada","grace","linus"],"msg":"boom","c":1,"ret":"ada"}`
			if got := v.String(); got != want {
				t.Fatalf("got %s\nwant %s", got, want)
			}
		})
	}
}

func TestDB_Tx_GoErrorRollsBack(t *testing.T) {
	b := backends(t)[0]
	table := "txerr_" + suffix()
	exec(t, b.db, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
	rt := vm(t, b.db, nil)
	rt.Set("T", table)
	_, err := rt.RunString(`db.tx(tx => { tx.exec("INSERT INTO " + T + " (id, name) VALUES (1, 'x')"); tx.exec("INSERT INTO " + T + " (id, name) VALUES (1, 'dup')"); })`)
	if err == nil || !strings.Contains(err.Error(), "db.exec") {
		t.Fatalf("error = %v, want the failing exec's error", err)
	}
	var n int
	b.db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows survived a rolled back tx", n)
	}
}

func TestDB_DryRun(t *testing.T) {
	b := backends(t)[0]
	table := "dry_" + suffix()
	exec(t, b.db, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, name TEXT)")
	exec(t, b.db, "INSERT INTO "+table+" (id, name) VALUES (1, 'ada')")
	rec := &recorder{}
	rt := vm(t, b.db, rec)
	rt.Set("T", table)
	v, err := rt.RunString(`
		const r = db.exec("UPDATE " + T + " SET name = ? WHERE id = ?", "eve", 1);
		const q = db.query("DELETE FROM " + T + " RETURNING id");
		db.tx(tx => tx.exec("DELETE FROM " + T));
		const row = db.first("/* read */ SELECT name FROM " + T + " WHERE id = ?", 1);
		JSON.stringify([r.rowsAffected, q.length, row.name]);
	`)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != `[0,0,"ada"]` {
		t.Errorf("got %s", v)
	}
	calls := rec.list()
	if len(calls) != 4 || !strings.HasPrefix(calls[0], "db.exec [UPDATE") || !strings.HasPrefix(calls[1], "db.query [DELETE") || calls[2] != "db.tx []" || !strings.HasPrefix(calls[3], "db.exec [DELETE") {
		t.Errorf("recorded %q", calls)
	}
	var name string
	b.db.SQL().QueryRow("SELECT name FROM " + table).Scan(&name)
	if name != "ada" {
		t.Errorf("dry run wrote: name = %q", name)
	}
}

func TestDB_ContextCancelled(t *testing.T) {
	b := backends(t)[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inv := &engine.Invocation{Ctx: ctx}
	m := b.db.Exports(func() *engine.Invocation { return inv }).(map[string]any)
	_, err := m["query"].(func(string, ...any) ([]any, error))("SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("error = %v, want context canceled", err)
	}
}

func TestOpen_SQLite(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(context.Background(), Options{Driver: "sqlite", DSN: "data/sub/app.db", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var mode string
	var fk, busy int
	d.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode)
	d.SQL().QueryRow("PRAGMA foreign_keys").Scan(&fk)
	d.SQL().QueryRow("PRAGMA busy_timeout").Scan(&busy)
	if mode != "wal" || fk != 1 || busy != 5000 {
		t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, busy)
	}
	if _, err := filepath.Glob(filepath.Join(dir, "data", "sub", "app.db")); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "data", "sub", "app.db")); len(m) != 1 {
		t.Errorf("database not created under baseDir")
	}
}

func TestOpen_Errors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Options
		want string
	}{
		{"unknown driver", Options{Driver: "oracle", DSN: "x"}, `driver "oracle"`},
		{"empty sqlite dsn", Options{Driver: "sqlite"}, "dsn is empty"},
		{"bad mysql dsn", Options{Driver: "mysql", DSN: "nonsense"}, "database.dsn"},
		{"postgres refused, password hidden", Options{Driver: "postgres", DSN: "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2"}, "connect to postgres database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.cfg
			opts.Dir = t.TempDir()
			_, err := Open(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}
