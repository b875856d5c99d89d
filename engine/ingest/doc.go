// Package ingest is switchboard's public webhook server: it verifies each
// delivery's signature on the raw body, turns it into an engine.Event and
// hands it to a Submitter, answering the sender only once it is stored.
package ingest
