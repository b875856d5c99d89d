// Package db is the "db" host module: the application database (SQLite,
// Postgres or MySQL through database/sql) as query/first/exec/tx for scripts.
package db
