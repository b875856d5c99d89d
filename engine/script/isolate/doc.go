// Package isolate runs listener scripts in child processes, so that no
// script can take the router down: scripts.isolation = "process".
//
// # Processes
//
// A Pool keeps up to Options.Processes children, each running one
// attempt at a time, started when first needed and replaced when one
// dies, plus one more for Check. A child is the router's own binary
// (/proc/self/exe, switchboard's hidden script-host verb) calling Serve
// on its stdin and stdout, with the parent's interrupts on fd 3; it gets
// no environment but GOMEMLIMIT, inherits no other file, and reads no
// file: a script arrives as the bundle the parent made (script.Bundle,
// esbuild's output and its source map) and its runtimes are pooled per
// script version (hash) as in-process. A reload's new versions reach a
// child with the first attempt that needs them.
//
// # Compiling
//
// goja runs code while it compiles (it folds constant expressions: a
// literal 1n << (1n << 40n) allocates 128 GiB), and script.Compile's
// default-export check runs the top level. So with isolation the router
// only bundles (script.BuildChecked) and Check compiles and checks each
// new bundle in the checker child; one that ends the child, or takes
// more than ten seconds, is a compile error saying so.
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
// runtime's next mapping and the child dies. The parent reports that as
// engine.ErrMemoryLimit when the child's stderr shows the runtime's
// out-of-memory errors (or cgo's or the race detector's), when it was
// SIGKILLed by someone else (the kernel's OOM killer), or when it crashed
// otherwise with its peak resident memory (wait4) past half the limit
// above where it started (the runtime can crash with SIGSEGV when its own
// allocator gets nothing). Any other death is engine.ErrCrashed.
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
// are too, until the attempt ends; a function nested inside a value is
// not. log and console records go to the attempt's logger. One call's
// arguments may cost at most the per-call budget, estimated as decoded
// Go values; past it the call throws a RangeError in the child and the
// parent never sees them. A log record or an error's message or stack
// past 64 KiB is cut.
//
// # Time
//
// The child runs each attempt under the parent's deadline. When the
// attempt's context ends the parent also sends an interrupt (shutdown
// uses this), and a child that has not answered within Options.Grace
// (a regular expression backtracking for minutes, a BigInt power) is
// killed: the attempt times out and a new child takes its place. A child
// whose parent is gone reads EOF and exits, even mid-script.
//
// # Protocol
//
// Frames are a 4-byte length and one value in a small binary encoding
// (codec.go): tagged nulls, booleans, integers, floats, strings, bytes,
// arrays, objects, dates and function handles. Each side reads its pipe
// on the goroutine that waits for the answer, so no message changes
// goroutines on the way. Frames from a child are bounded (the per-call
// budget plus 1 MiB) and decoded without trusting any count; a child
// that sends a bad frame is killed and its attempt fails as crashed.
package isolate
