// Package admin is switchboard's operator port: a bearer-authenticated JSON
// API over the queue, a read-only HTML dashboard, health and readiness
// probes, Prometheus metrics, and the Go client the CLI uses to reach them.
//
// # Authentication
//
// Everything needs the admin token except GET /healthz and the bare
// ready/not-ready answer of GET /readyz (probes carry no credentials).
//
//   - The JSON API under /api, /metrics and the details of /readyz accept
//     only "Authorization: Bearer <token>". Browsers never send a bearer
//     header on their own, so a cross-site page cannot make an
//     authenticated request: the state-changing endpoints need no CSRF
//     token.
//   - The dashboard (GET /) also accepts HTTP Basic credentials whose
//     password is the token (any user name), so a browser can open it
//     through its own login prompt. Because a browser replays Basic
//     credentials automatically, they are accepted on GET / only, which is
//     read-only; the token is never taken from the URL, where it would end
//     up in history and proxy logs.
//
// Tokens are compared in constant time. The dashboard sends a
// Content-Security-Policy that allows no script at all, and every value it
// shows goes through html/template's contextual escaping.
//
// # Readiness
//
// GET /readyz answers 200 when the store accepts writes (Ping) and a script
// set is loaded, else 503. A refused reload is reported in its "scripts"
// check but does not fail readiness: the last good scripts keep serving,
// and one bad deploy must not take every replica out of rotation.
package admin
