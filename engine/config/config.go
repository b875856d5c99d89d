package config

import (
	"net/netip"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Config is config.toml as written by the user, after ${VAR} expansion.
// Load fills the derived fields (Dir, parsed listeners) via Validate.
type Config struct {
	Server    Server     `toml:"server"`
	Admin     Admin      `toml:"admin"`
	Storage   Storage    `toml:"storage"`
	Queue     Queue      `toml:"queue"`
	NATS      NATS       `toml:"nats"`
	Defaults  Defaults   `toml:"defaults"`
	Database  Database   `toml:"database"`
	Mail      Mail       `toml:"mail"`
	HTTP      HTTP       `toml:"http"`
	Ittybit   Ittybit    `toml:"ittybit"`
	Log       Log        `toml:"log"`
	Scripts   Scripts    `toml:"scripts"`
	Sources   []Source   `toml:"sources"`
	Listeners []Listener `toml:"listeners"`
	// Alerts and AlertsSettings are [[alerts]] and [alerts_settings] (alerts.go).
	Alerts         []Alert        `toml:"alerts"`
	AlertsSettings AlertsSettings `toml:"alerts_settings"`

	// Path is the config file's absolute path; Dir its directory. Relative
	// paths in the file are resolved against Dir.
	Path string `toml:"-"`
	Dir  string `toml:"-"`

	// fromEnv maps each key whose value came from the environment to its
	// text as written ("${ITTYBIT_API_KEY}"), so errors name it, never
	// the value.
	fromEnv map[string]string
	// overrides are the serve flags this config was loaded with; Reload
	// applies them again.
	overrides Overrides
}

// Server is the public webhook listener.
type Server struct {
	Listen          string   `toml:"listen"`
	BodyLimit       Size     `toml:"body_limit"`
	HeaderLimit     Size     `toml:"header_limit"`
	ReadTimeout     Duration `toml:"read_timeout"`
	WriteTimeout    Duration `toml:"write_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"` // let running jobs finish this long
}

// Admin is the operator listener: JSON API, dashboard, metrics.
type Admin struct {
	Listen string `toml:"listen"` // empty disables the admin listener
	Token  Secret `toml:"token"`
	// HistoryRetention is how long the console's per-minute history is kept.
	HistoryRetention Duration `toml:"history_retention"`
}

// Storage says where the embedded queue keeps its file.
type Storage struct {
	Dir string `toml:"dir"`
	// MinFree is the free space on the queue's filesystem below which
	// /readyz reports the queue unwritable, before commits start failing.
	MinFree Size `toml:"min_free"`
}

// Queue configures the durable queue and the worker pool.
type Queue struct {
	Backend      string   `toml:"backend"` // "bbolt" or "nats"
	Workers      int      `toml:"workers"`
	Retention    Duration `toml:"retention"`     // keep finished jobs and their events this long
	MaxDepth     int      `toml:"max_depth"`     // pending jobs above this → 503; 0 = unbounded
	DedupeWindow Duration `toml:"dedupe_window"` // remember delivery ids this long
	CrashLimit   int      `toml:"crash_limit"`   // crash-recoveries before a job is parked as failed
	// The postgres backend (see PostgresDSN for the dsn's default).
	DSN          Secret   `toml:"dsn"`
	Schema       string   `toml:"schema"`        // where its tables live
	PollInterval Duration `toml:"poll_interval"` // how often idle workers look when LISTEN/NOTIFY cannot reach them
}

// Defaults apply to every listener that does not set the key itself.
type Defaults struct {
	Tries       int      `toml:"tries"`
	Backoff     any      `toml:"backoff"` // ["10s","1m"] or "exponential"
	BackoffBase Duration `toml:"backoff_base"`
	BackoffMax  Duration `toml:"backoff_max"`
	Timeout     Duration `toml:"timeout"`
	Concurrency int      `toml:"concurrency"`
}

// Database is the application database scripts reach through `db`.
type Database struct {
	Driver       string `toml:"driver"` // sqlite | postgres | mysql
	DSN          Secret `toml:"dsn"`
	MaxOpenConns int    `toml:"max_open_conns"`
}

// Mail is how `mail.send` delivers.
type Mail struct {
	Transport string   `toml:"transport"` // file | smtp | log
	From      string   `toml:"from"`
	Dir       string   `toml:"dir"` // file transport
	Host      string   `toml:"host"`
	Port      int      `toml:"port"`
	Username  string   `toml:"username"`
	Password  Secret   `toml:"password"`
	StartTLS  string   `toml:"starttls"` // "required" | "opportunistic" | "none"
	TLS       bool     `toml:"tls"`      // implicit TLS (port 465)
	Timeout   Duration `toml:"timeout"`
}

// HTTP bounds what scripts may reach through `http` and `ittybit`.
type HTTP struct {
	AllowHosts       []string `toml:"allow_hosts"` // empty: any public host
	AllowCIDRs       []string `toml:"allow_cidrs"` // private ranges explicitly allowed
	Timeout          Duration `toml:"timeout"`
	ConnectTimeout   Duration `toml:"connect_timeout"`
	MaxResponseBytes Size     `toml:"max_response_bytes"`
	MaxRedirects     int      `toml:"max_redirects"`

	// CIDRs is AllowCIDRs parsed by Validate.
	CIDRs []netip.Prefix `toml:"-"`
}

// Ittybit configures the `ittybit` binding.
type Ittybit struct {
	APIKey  Secret `toml:"api_key"`
	BaseURL string `toml:"base_url"`
}

// Log configures the process log.
type Log struct {
	Level  string `toml:"level"`  // debug | info | warn | error
	Format string `toml:"format"` // text | json
}

// Scripts bounds what a listener script may use.
type Scripts struct {
	MemoryLimit  Size `toml:"memory_limit"`   // Go heap above which running attempts are interrupted; with isolation, each child's cap
	MaxCallStack int  `toml:"max_call_stack"` // JS frames before a RangeError
	// Isolation is where listener JS runs: "none" (in the router) or
	// "process" (in child processes, one attempt at a time each).
	Isolation string `toml:"isolation"`
	// Processes is how many child processes run scripts when Isolation
	// is "process"; 0 means queue.workers.
	Processes int `toml:"processes"`
}

// ScriptProcesses is the number of script processes isolation uses:
// scripts.processes, or queue.workers when that is 0.
func (c *Config) ScriptProcesses() int {
	if c.Scripts.Processes > 0 {
		return c.Scripts.Processes
	}
	return c.Queue.Workers
}

// Source is one webhook sender.
type Source struct {
	Name       string   `toml:"name"`
	Path       string   `toml:"path"`
	Verify     string   `toml:"verify"`      // ittybit | standard-webhooks | github | stripe | shopify | hmac
	Secret     any      `toml:"secret"`      // string or list of strings (rotation)
	Event      string   `toml:"event"`       // fixed event name
	EventField string   `toml:"event_field"` // or: payload path holding the name
	DeliveryID string   `toml:"delivery_id"` // "header:NAME" | "field:PATH" | "body"
	Tolerance  Duration `toml:"tolerance"`   // timestamped schemes
	Rate       string   `toml:"rate"`        // e.g. "100/s"; over it → 429
	// Generic hmac scheme.
	Header    string `toml:"header"`
	Algorithm string `toml:"algorithm"` // sha1 | sha256 | sha512
	Encoding  string `toml:"encoding"`  // hex | base64
	Prefix    string `toml:"prefix"`    // e.g. "sha256="

	// Secrets is Secret normalised by Validate; Limit is Rate parsed (zero
	// when Rate is empty).
	Secrets []Secret    `toml:"-"`
	Limit   engine.Rate `toml:"-"`
}

// Listener is one [[listeners]] table. Zero values take [defaults].
type Listener struct {
	Name        string         `toml:"name"`
	Script      string         `toml:"script"`
	On          []string       `toml:"on"`
	When        map[string]any `toml:"when"`
	Tries       int            `toml:"tries"`
	Backoff     any            `toml:"backoff"`
	BackoffBase Duration       `toml:"backoff_base"`
	BackoffMax  Duration       `toml:"backoff_max"`
	Timeout     Duration       `toml:"timeout"`
	Delay       Duration       `toml:"delay"`
	Concurrency int            `toml:"concurrency"`
	Rate        string         `toml:"rate"`
	// OrderBy is a payload path: jobs with the same value there run one
	// at a time, in arrival order.
	OrderBy string `toml:"order_by"`
}

// Default returns the configuration used for every key the file leaves
// out. The shipped config.toml only states what a newcomer should see.
func Default() Config {
	return Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			BodyLimit:       5 << 20,
			HeaderLimit:     16 << 10,
			ReadTimeout:     Duration(10 * time.Second),
			WriteTimeout:    Duration(10 * time.Second),
			IdleTimeout:     Duration(60 * time.Second),
			ShutdownTimeout: Duration(30 * time.Second),
		},
		Admin:   Admin{Listen: "127.0.0.1:8081", HistoryRetention: Duration(7 * 24 * time.Hour)},
		Storage: Storage{Dir: "data", MinFree: 16 << 20},
		Queue: Queue{
			Backend:      "bbolt",
			Workers:      4,
			Retention:    Duration(7 * 24 * time.Hour),
			DedupeWindow: Duration(7 * 24 * time.Hour),
			CrashLimit:   3,
			Schema:       "switchboard",
			PollInterval: Duration(time.Second),
		},
		NATS: defaultNATS(),
		Defaults: Defaults{
			Tries:       3,
			Backoff:     []any{"10s", "1m", "5m"},
			BackoffBase: Duration(time.Second),
			BackoffMax:  Duration(time.Hour),
			Timeout:     Duration(30 * time.Second),
		},
		Database: Database{Driver: "sqlite", DSN: "data/app.db", MaxOpenConns: 4},
		Mail:     Mail{Transport: "file", From: "switchboard <switchboard@localhost>", Dir: "data/mail", Port: 587, StartTLS: "required", Timeout: Duration(30 * time.Second)},
		HTTP: HTTP{
			Timeout:          Duration(15 * time.Second),
			ConnectTimeout:   Duration(5 * time.Second),
			MaxResponseBytes: 10 << 20,
			MaxRedirects:     5,
		},
		Ittybit: Ittybit{BaseURL: "https://api.ittybit.com"},
		Log:     Log{Level: "info", Format: "text"},
		Scripts: Scripts{MemoryLimit: 512 << 20, MaxCallStack: 1024, Isolation: "none"},

		AlertsSettings: defaultAlertsSettings(),
	}
}
