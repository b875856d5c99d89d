package db

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", "SELECT 1", "SELECT 1"},
		{"params", "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"single quoted", "SELECT '?', ? FROM t", "SELECT '?', $1 FROM t"},
		{"doubled quote", "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{"identifier", `SELECT "a?" FROM t WHERE x = ?`, `SELECT "a?" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"block comment", "SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"dollar quoted", "SELECT $$a?b$$, $tag$?$tag$, ?", "SELECT $$a?b$$, $tag$?$tag$, $1"},
		{"numbered left alone", "SELECT $1, ?", "SELECT $1, $1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebind(tt.in); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsRead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"select", "select 1", true},
		{"comment first", "-- hi\n /* x */ SELECT 1", true},
		{"with select", "WITH a AS (SELECT 1) SELECT * FROM a", true},
		{"with delete", "WITH a AS (DELETE FROM t RETURNING *) SELECT * FROM a", false},
		{"with string mentioning delete", "WITH a AS (SELECT 'delete') SELECT * FROM a", true},
		{"show", "SHOW TABLES", true},
		{"explain", "EXPLAIN SELECT 1", true},
		{"update", "UPDATE t SET a = 1", false},
		{"insert", "INSERT INTO t VALUES (1)", false},
		{"empty", "  ", false},
		{"pragma", "PRAGMA journal_mode = delete", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRead(tt.in); got != tt.want {
				t.Errorf("isRead(%q) = %v", tt.in, got)
			}
		})
	}
}
