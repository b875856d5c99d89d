package config

import (
	"net/url"
	"regexp"
	"time"
)

// NATS configures the NATS JetStream queue (queue.backend = "nats").
type NATS struct {
	URLs []string `toml:"urls"`
	// Replicas of every stream: 3 (the default) for a three-node cluster,
	// 1 for a single server.
	Replicas int    `toml:"replicas"`
	Prefix   string `toml:"prefix"` // names of the streams and subjects
	// Credentials: at most one of creds (a .creds file), token, or user
	// and password.
	Creds    string   `toml:"creds"`
	Token    Secret   `toml:"token"`
	User     string   `toml:"user"`
	Password Secret   `toml:"password"`
	TLS      NATSTLS  `toml:"tls"`
	Timeout  Duration `toml:"timeout"` // per request; a write unacknowledged this long answers 503
}

// NATSTLS is the TLS of the NATS connection: a CA to verify the servers
// and an optional client certificate.
type NATSTLS struct {
	CA   string `toml:"ca"`
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// defaultNATS is [nats] as the defaults leave it.
func defaultNATS() NATS {
	return NATS{Replicas: 3, Prefix: "switchboard", Timeout: Duration(5 * time.Second)}
}

var natsPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// validateNATS checks [nats] when the queue runs on it.
func (c *Config) validateNATS(bad func(key, format string, args ...any)) {
	n := &c.NATS
	if len(n.URLs) == 0 {
		bad("nats.urls", "list at least one server (e.g. [\"nats://127.0.0.1:4222\"]) when queue.backend = \"nats\"")
	}
	for i, u := range n.URLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			bad("nats.urls", "[%d] %q is not a URL like nats://host:4222", i, u)
			continue
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			bad("nats.urls", "[%d] %q: scheme %q is not nats, tls, ws or wss", i, u, p.Scheme)
		}
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		bad("nats.replicas", "%d is out of range 1..5 (3 for a three-node cluster, 1 for a single server)", n.Replicas)
	}
	if !natsPrefixRE.MatchString(n.Prefix) {
		bad("nats.prefix", "%q: use 1-32 letters, digits, '_' or '-'", n.Prefix)
	}
	set := 0
	for _, on := range []bool{n.Creds != "", n.Token != "", n.User != "" || n.Password != ""} {
		if on {
			set++
		}
	}
	if set > 1 {
		bad("nats.creds", "set one of nats.creds, nats.token, or nats.user and nats.password")
	}
	if (n.TLS.Cert == "") != (n.TLS.Key == "") {
		bad("nats.tls", "set cert and key together")
	}
	if n.Timeout.D() <= 0 {
		bad("nats.timeout", "must be positive")
	}
}
