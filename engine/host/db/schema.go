package db

import "strings"

// Schema returns the example application's schema (the Laravel guide's
// users and media tables) in driver's dialect ("sqlite", "postgres" or
// "mysql"). Every statement is idempotent (IF NOT EXISTS); statements are
// separated by ";\n" so callers without multi-statement support can split.
func Schema(driver string) string {
	id, ts, text := "INTEGER PRIMARY KEY AUTOINCREMENT", "TIMESTAMP", "TEXT"
	switch driver {
	case "postgres":
		id = "BIGSERIAL PRIMARY KEY"
	case "mysql":
		id, ts, text = "BIGINT AUTO_INCREMENT PRIMARY KEY", "DATETIME", "LONGTEXT"
	}
	str := "VARCHAR(255)"
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS users (
  id ` + id + `,
  name ` + str + ` NOT NULL,
  email ` + str + ` NOT NULL UNIQUE
)`,
		`CREATE TABLE IF NOT EXISTS media (
  id ` + id + `,
  user_id BIGINT NOT NULL REFERENCES users(id),
  task_id ` + str + `,
  status ` + str + ` NOT NULL DEFAULT 'pending',
  output_url ` + text + `,
  metadata ` + text + `,
  thumbnail_task_id ` + str + `,
  thumbnail_url ` + text + `,
  created_at ` + ts + ` NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at ` + ts + ` NOT NULL DEFAULT CURRENT_TIMESTAMP
)`,
	}
	if driver == "mysql" {
		// MySQL has no CREATE INDEX IF NOT EXISTS: declare indexes inline.
		stmts[1] = strings.TrimSuffix(stmts[1], "\n)") +
			",\n  INDEX media_task_id (task_id),\n  INDEX media_thumbnail_task_id (thumbnail_task_id)\n)"
	} else {
		stmts = append(stmts,
			"CREATE INDEX IF NOT EXISTS media_task_id ON media (task_id)",
			"CREATE INDEX IF NOT EXISTS media_thumbnail_task_id ON media (thumbnail_task_id)")
	}
	return strings.Join(stmts, ";\n") + ";\n"
}

// Seed returns statements that insert the sample user (1, Ada Lovelace)
// and media row (1, task_demo_video, processing) unless they exist, in
// driver's dialect. Running it twice changes nothing.
func Seed(driver string) string {
	stmts := []string{
		`INSERT INTO users (id, name, email)
SELECT 1, 'Ada Lovelace', 'ada@example.com'
WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = 1)`,
		`INSERT INTO media (id, user_id, task_id, status)
SELECT 1, 1, 'task_demo_video', 'processing'
WHERE NOT EXISTS (SELECT 1 FROM media WHERE id = 1)`,
	}
	if driver == "mysql" {
		// MySQL needs a FROM before WHERE; DUAL is its empty table.
		for i, s := range stmts {
			stmts[i] = strings.Replace(s, "\nWHERE NOT EXISTS", " FROM DUAL\nWHERE NOT EXISTS", 1)
		}
	}
	if driver == "postgres" {
		// Explicit ids leave the serial sequences behind; move them on.
		stmts = append(stmts,
			"SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT MAX(id) FROM users), 1))",
			"SELECT setval(pg_get_serial_sequence('media', 'id'), GREATEST((SELECT MAX(id) FROM media), 1))")
	}
	return strings.Join(stmts, ";\n") + ";\n"
}

// Statements splits Schema or Seed output into single statements, for
// drivers that run one statement per Exec.
func Statements(script string) []string {
	var out []string
	for _, s := range strings.Split(script, ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
