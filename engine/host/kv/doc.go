// Package kv is the "kv" host module: durable key/value storage private to
// each listener, with optional expiry.
package kv
