// Package isolate runs listener scripts in child processes, so that no
// script can take the router down: scripts.isolation = "process".
//
// # Processes
//
// A Pool keeps up to Options.Processes children, each running one
// attempt at a time, started when first needed and replaced when one
// dies. A child is the router's own binary (/proc/self/exe, a hidden
// verb) calling Serve on its stdin and stdout; it gets no environment
// but GOMEMLIMIT, inherits no other file, and reads no file: a script
// arrives as the bundle the parent compiled (script.Bundle, esbuild's
// output and its source map), and its runtimes are pooled per script
// version (hash) as in-process. A reload's new scripts reach a child
// with the first attempt that needs them.
//
// # Memory
//
// When a child is up, the parent caps its data segment with prlimit(2)
// at its start-up size plus Options.MemoryLimit (RLIMIT_DATA; RLIMIT_AS
// cannot be used, the Go runtime reserves about 1.2 GB of address space
// at start). Inside, the heap watchdog stops attempts at half the limit
// and the built-in guards keep their per-call budget (MemoryLimit/8).
// What escapes both (a string doubled in a loop, BigInt arithmetic,
// spread over a huge iterable) meets the cap: the kernel refuses the Go
// runtime's next mapping, it exits with "fatal error: out of memory",
// and the parent reports the attempt as engine.ErrMemoryLimit (read from
// the child's stderr; a SIGKILL the parent did not send, the OOM
// killer's, counts too). Any other death is engine.ErrCrashed.
//
// # Bindings
//
// Host bindings stay in the parent. The child's "switchboard" module is
// a proxy: each call sends the function's handle and its arguments
// (exported as goja exports them) to the parent, where one goja runtime
// per child calls the real export with them, for the attempt's
// engine.Invocation (deadline, logger, dry-run recorder), and sends the
// result back, or the error to throw: a GoError wrapping the binding's
// error (its message and its sentinels: deadline, cancel, memory), the
// JS error goja raised there, or, for db.tx, the very value the
// listener's callback threw. A callback (db.tx's function) is called
// back across the pipe; the functions the parent passes it (tx.query)
// are too, until the attempt ends. log and console records go to the
// attempt's logger. One call's arguments may cost at most the per-call
// budget, estimated as decoded Go values; past it the call throws a
// RangeError in the child and the parent never sees them.
//
// # Time
//
// The child runs each attempt under the parent's deadline. When the
// attempt's context ends, the parent also sends an interrupt (shutdown
// uses this), and a child that has not answered within Options.Grace
// (a regular expression backtracking for minutes, a BigInt that takes
// as long) is killed: the attempt times out and a new child takes its
// place.
//
// # Protocol
//
// Frames are a 4-byte length and one value in a small binary encoding
// (codec.go): tagged nulls, booleans, integers, floats, strings, bytes,
// arrays, objects, dates and function handles. Frames from a child are
// bounded (the per-call budget plus 1 MiB) and decoded without trusting
// any count; a child that sends a bad frame is killed and its attempt
// fails as crashed.
package isolate
