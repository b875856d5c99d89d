// Package postgres is the shared queue on PostgreSQL: any number of
// switchboard processes that open the same schema share one queue.
package postgres
