package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard/switchboard/engine/loadgen"
)

// pgBaseline is the hand-written server switchboard on PostgreSQL is
// measured against: the same HTTP stack, it verifies the signature
// (loadgen's scheme) and commits one INSERT of the body per request, its
// own transaction, over a pgx pool as large as the load's connections
// (at most 32), before answering 200.
type pgBaseline struct {
	app    *fiber.App
	pool   *pgxpool.Pool
	table  string
	secret []byte
}

func newPGBaseline(ctx context.Context, dsn, schema string, conns int, secret []byte) (*pgBaseline, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("baseline: parse dsn: %w", err)
	}
	cfg.MaxConns = int32(min(conns, 32))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &pgBaseline{pool: pool, table: pgx.Identifier{schema, "baseline"}.Sanitize(), secret: secret}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
		CREATE TABLE IF NOT EXISTS `+b.table+` (id bigserial PRIMARY KEY, body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("baseline: create table: %w", err)
	}
	b.app = fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second})
	b.app.Post("/*", b.handle)
	return b, nil
}

func (b *pgBaseline) handle(c *fiber.Ctx) error {
	body := c.Body()
	sig, err := hex.DecodeString(strings.TrimSpace(c.Get(loadgen.SignatureHeader)))
	m := hmac.New(sha256.New, b.secret)
	m.Write(body)
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "bad signature"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.pool.Exec(ctx, `INSERT INTO `+b.table+` (body) VALUES ($1)`, body); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "store failed"})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// run loads the baseline as o says at conns connections.
func (b *pgBaseline) run(ctx context.Context, o benchOptions, conns int) (loadgen.Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return loadgen.Result{}, err
	}
	done := make(chan error, 1)
	go func() { done <- b.app.Listener(ln) }()
	res, err := loadgen.Run(ctx, loadgen.Options{
		URL: "http://" + ln.Addr().String() + "/webhooks/bench", Connections: conns,
		Duration: o.duration, Requests: o.requests, Rate: o.rate, BodySize: o.bodySize,
		Sign: func(body []byte) map[string]string { return loadgen.SignBaseline(b.secret, body) },
	})
	if serr := b.app.Shutdown(); err == nil {
		err = serr
	}
	<-done
	return res, err
}

func (b *pgBaseline) close() { b.pool.Close() }
