package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
)

// cmdDB: db init creates the Laravel guide's tables (users, media) in the
// configured app database with a sample user and media rows; db query
// runs one SQL statement there and prints the rows as JSON.
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
		fmt.Fprintf(w, "app database ready (%s): tables users, media; sample user 1 and media rows\n", cfg.Database.Driver)
		return nil
	}
	rows, err := d.Query(ctx, pos[1])
	if err != nil {
		return err
	}
	return printJSON(w, rows)
}

// initAppDB applies the schema and the sample rows; both are idempotent.
func initAppDB(ctx context.Context, d *db.DB) error {
	for _, stmt := range db.Statements(db.Schema(d.Driver()) + db.Seed(d.Driver())) {
		if _, err := d.SQL().ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("init app database: %s: %w", firstLine(stmt), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
