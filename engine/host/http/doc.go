// Package http is the "http" host module and the SSRF-safe outbound HTTP
// client it and the ittybit module share.
package http
