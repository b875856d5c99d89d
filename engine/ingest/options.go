package ingest

import (
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Options are the webhook server's limits and hooks. Zero values take the
// defaults named on each field.
type Options struct {
	// BodyLimit is the largest body accepted; larger ones get 413.
	// Default 5 MiB.
	BodyLimit int64
	// HeaderLimit is the request header buffer; larger headers get 431.
	// Default 16 KiB.
	HeaderLimit int
	// ReadTimeout, WriteTimeout and IdleTimeout cut slow or idle clients
	// off. Defaults 10s, 10s, 60s.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// Logger receives one line per rejected request (rate-limited) and
	// debug lines per accepted one. Default slog.Default().
	Logger *slog.Logger
	// Observe, if set, is told every answered request's source ("" when
	// the path names none, or the request was refused before its path
	// was read) and status code, rejections included (for metrics).
	Observe func(source string, status int)
}

// The defaults Options' zero values stand for.
const (
	DefaultBodyLimit   = 5 << 20
	DefaultHeaderLimit = 16 << 10
	DefaultTolerance   = 5 * time.Minute // see Source.Tolerance
)

func (o Options) withDefaults() Options {
	if o.BodyLimit <= 0 {
		o.BodyLimit = DefaultBodyLimit
	}
	if o.HeaderLimit <= 0 {
		o.HeaderLimit = DefaultHeaderLimit
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Source is one webhook sender as the server needs it: plain, checked
// values (cmd/switchboard maps config's [[sources]] onto it; config has
// already named the key of anything wrong).
type Source struct {
	Name string // names the source in events, logs and metrics
	Path string // POST Path receives it; unique among sources
	// Verify names the signature scheme: ittybit, standard-webhooks,
	// github, stripe, shopify or hmac.
	Verify string
	// Secrets are the keys any one valid signature may be made with
	// (several during rotation). None may be empty.
	Secrets []engine.Secret
	// Event is the name every delivery gets; when empty, EventField names
	// where the name is: a payload path ("data.type") or "header:NAME".
	Event      string
	EventField string
	// DeliveryID says where the dedupe id is: "header:NAME", "field:PATH"
	// or "body" (sha256 of the body); empty means the scheme's own id.
	DeliveryID string
	// Tolerance bounds how far a signed timestamp may be from now, either
	// way (timestamped schemes). Zero means DefaultTolerance.
	Tolerance time.Duration
	// Rate limits deliveries (429 past it); zero means no limit.
	Rate engine.Rate
	// Header, Algorithm (sha1, sha256, sha512; default sha256), Encoding
	// (hex, base64; default hex) and Prefix configure the generic hmac
	// scheme.
	Header, Algorithm, Encoding, Prefix string
}
