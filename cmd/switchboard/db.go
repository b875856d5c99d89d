package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
)

// cmdDB: db init creates the Laravel guide's tables (users, media) in the
// configured app database with a sample user and a media row for every
// shipped fixture; db query runs one SQL statement there and prints the
// rows as JSON, or, for an INSERT, UPDATE, DELETE or REPLACE without
// RETURNING, {"rowsAffected": n}.
func cmdDB(ctx context.Context, args []string, w io.Writer) error {
	f := newFlags("db")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "init" && pos[0] != "query") || (pos[0] == "query" && len(pos) != 2) {
		return fmt.Errorf("%w: db init | db query SQL", errUsage)
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, dbOptions(cfg))
	if err != nil {
		return err
	}
	defer d.Close()
	if pos[0] == "init" {
		if err := initAppDB(ctx, d); err != nil {
			return err
		}
		fmt.Fprintf(w, "app database ready (%s): tables users, media; sample user 1 and a media row for every testdata/ fixture\n", cfg.Database.Driver)
		return nil
	}
	if countsRows(pos[1]) {
		return execAndPrint(ctx, d, pos[1], w)
	}
	rows, err := d.Query(ctx, pos[1])
	if err != nil {
		return err
	}
	return printJSON(w, rows)
}

// writeStmt matches a statement that starts (after comments) with a
// data-modifying verb; returningClause one that hands rows back anyway.
var (
	writeStmt       = regexp.MustCompile(`(?is)^\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*(?:INSERT|UPDATE|DELETE|REPLACE)\b`)
	returningClause = regexp.MustCompile(`(?i)\bRETURNING\b`)
)

// countsRows reports whether stmt answers a count of affected rows
// rather than rows of its own.
func countsRows(stmt string) bool {
	return writeStmt.MatchString(stmt) && !returningClause.MatchString(stmt)
}

func execAndPrint(ctx context.Context, d *db.DB, stmt string, w io.Writer) error {
	res, err := d.SQL().ExecContext(ctx, stmt)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	return printJSON(w, map[string]int64{"rowsAffected": n})
}

// initAppDB applies the schema, the sample rows and the fixtures' media
// rows; all of it is idempotent.
func initAppDB(ctx context.Context, d *db.DB) error {
	script := db.Schema(d.Driver()) + db.Seed(d.Driver()) + fixtureMedia(d.Driver())
	for _, stmt := range db.Statements(script) {
		if _, err := d.SQL().ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("init app database: %s: %w", firstLine(stmt), err)
		}
	}
	return nil
}

// demoMedia is one media row a shipped fixture's webhook finds (the seed
// already has media 1, task_demo_video, for ittybit_task_completed.json).
type demoMedia struct {
	fixture, taskID, status, outputURL, thumbnailTaskID string
}

var demoMediaRows = []demoMedia{
	{"ittybit_event_succeeded.json", "task_demo_video_2", "processing", "", ""},
	{"ittybit_task_failed.json", "task_demo_broken", "processing", "", ""},
	// Videos done earlier whose thumbnails were requested: the thumbnail
	// fixtures' webhooks fill in their thumbnail_url.
	{"ittybit_thumbnail_completed.json", "task_demo_video_3", "completed", "https://cdn.ittybit.com/demo/video-3.mp4", "task_demo_thumb"},
	{"ittybit_job_succeeded.json", "task_demo_video_4", "completed", "https://cdn.ittybit.com/demo/video-4.mp4", "job_demo_thumb"},
}

// fixtureMedia returns statements that add demoMediaRows for user 1,
// each unless a row with its task_id exists, in driver's dialect.
func fixtureMedia(driver string) string {
	lit := func(s string) string {
		if s == "" {
			return "NULL"
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	from := ""
	if driver == "mysql" {
		from = " FROM DUAL" // MySQL needs a FROM before WHERE
	}
	var b strings.Builder
	for _, m := range demoMediaRows {
		fmt.Fprintf(&b, "INSERT INTO media (user_id, task_id, status, output_url, thumbnail_task_id)\nSELECT 1, %s, %s, %s, %s%s\nWHERE NOT EXISTS (SELECT 1 FROM media WHERE task_id = %s);\n",
			lit(m.taskID), lit(m.status), lit(m.outputURL), lit(m.thumbnailTaskID), from, lit(m.taskID))
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
