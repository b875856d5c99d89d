package config

import "regexp"

var pgSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// PostgresDSN is the postgres backend's connection string: queue.dsn, or
// database.dsn when that database is PostgreSQL too.
func (c *Config) PostgresDSN() Secret {
	if c.Queue.DSN == "" && c.Database.Driver == "postgres" {
		return c.Database.DSN
	}
	return c.Queue.DSN
}

// validateQueueBackend checks queue.backend and the keys of the backend
// it names.
func (c *Config) validateQueueBackend(bad func(key, format string, args ...any)) {
	switch c.Queue.Backend {
	case "bbolt":
	case "postgres":
		if c.PostgresDSN() == "" {
			bad("queue.dsn", `must be set for the postgres backend (or set database.driver = "postgres" and database.dsn)`)
		}
		if !pgSchema.MatchString(c.Queue.Schema) {
			bad("queue.schema", "%s must be lowercase letters, digits and _ (at most 48), not starting with a digit", c.val("queue.schema", c.Queue.Schema))
		}
		if c.Queue.PollInterval.D() <= 0 {
			bad("queue.poll_interval", "must be positive")
		}
	case "nats":
		c.validateNATS(bad)
	default:
		bad("queue.backend", "%s is not supported (bbolt, postgres, nats)", c.val("queue.backend", c.Queue.Backend))
	}
}
