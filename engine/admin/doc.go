// Package admin is switchboard's operator port: the console (a single
// page embedded in the binary), the JSON API under /api it is built on,
// health and readiness probes, Prometheus metrics, and the Go client the
// CLI uses. Everything it reads and changes goes through Store, a subset
// of engine.Queue, so it works the same on every queue backend.
//
// # Authentication
//
// Deny by default: everything needs the admin token except GET /healthz,
// the bare verdict of GET /readyz, the console's static files (they hold
// no data) and the login form. The token is accepted three ways:
//
//   - "Authorization: Bearer <token>" (API clients, the CLI): any route.
//     Browsers never send a bearer header by themselves, so a cross-site
//     page cannot ride on it.
//   - A console session: POST /login takes the token once and sets a
//     session cookie (HttpOnly, SameSite=Strict, Secure and __Host- behind
//     TLS). Sessions live in memory; POST /logout ends one. A session may
//     change state only with its CSRF token (X-CSRF-Token, from GET
//     /api/session) and from this server's own origin (Origin and Fetch
//     Metadata are checked).
//   - HTTP Basic with the token as password: read-only, since browsers
//     replay Basic credentials on their own.
//
// The token is never taken from the URL. Tokens are compared in constant
// time; failed logins are throttled.
//
// # The console
//
// Every answer carries a Content-Security-Policy that allows nothing but
// 'self' (no inline script or style, no other origin). The page builds
// its DOM from API data as text nodes only, so payloads and errors
// holding markup render as text. Event headers that could carry
// credentials (signatures, secrets, tokens, Authorization, Cookie) are
// never served.
//
// # Operator actions
//
// Retry, forget, retry-failed, flush, replay, pause and resume are each
// logged and written to the queue's audit list (GET /api/audit) with
// when, what and from where.
//
// # Readiness
//
// GET /readyz answers 200 when the store accepts writes (Ping) and a script
// set is loaded, else 503. A refused reload is reported in its "scripts"
// check but does not fail readiness: the last good scripts keep serving,
// and one bad deploy must not take every replica out of rotation.
package admin
