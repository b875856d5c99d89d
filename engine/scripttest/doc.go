// Package scripttest runs script tests: files named *.test.js or *.test.ts
// that import { test, run, fixture, expect } from "switchboard/test", run
// listeners from config.toml through the real script engine on fixture
// events, and assert on what the listeners did.
//
// Each test gets a fresh SQLite application database (real SQL through the
// real db module, so a listener's writes can be read back with t.query)
// and a fresh in-memory kv store. Calls that would leave the process
// (http, mail, ittybit, emit) run in dry-run mode: they are recorded and
// never performed, and t.stub replaces any binding's answer with a value
// or a function. Every binding call, db and kv included, is recorded on
// the result of run().
//
// The application database in tests is always SQLite, whatever
// [database] says, so listener SQL under test must be SQLite-compatible.
package scripttest
