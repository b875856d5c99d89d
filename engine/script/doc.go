// Package script compiles listener scripts (JavaScript or TypeScript ES
// modules, bundled in-process by esbuild) and runs them in goja with the
// "switchboard" host module, and watches script and config files for hot
// reload.
//
// # Compile
//
// Compile bundles an entry file and its local imports into one CommonJS
// program; only "switchboard" stays external. Errors and JS stacks point
// at the original files (source maps are kept in memory, never read from
// disk). Syntax goja lacks is lowered (async generators, for await,
// using); RegExp d and v flags fail at run time. Build compiles a whole
// set of listeners and reuses scripts whose inputs did not change.
//
// # Run
//
// Engine.Run calls the default export as handle(event, job). Each Script
// keeps a small pool of runtimes whose top level already ran; a runtime
// serves one Run at a time, and one that was interrupted or overflowed
// its stack is dropped, not reused. Module-level state therefore persists
// between jobs of one script version, as in a long-lived worker.
//
// Scripts see ECMAScript plus require("switchboard") (nothing else),
// console, and the modules given to NewEngine. There is no filesystem,
// process or timer: a promise can settle only on values and bindings, so
// one still pending when the handler returns fails the attempt.
//
// # Limits
//
// Time: the attempt's context interrupts JS when it ends; Go code inside a
// binding must watch Invocation.Ctx itself. Recursion: MaxCallStackSize
// frames, then a RangeError. Memory, in two layers:
//
//   - Built-ins whose output size is set by an argument or a length
//     (String repeat, padStart, padEnd, concat, replaceAll; Array join,
//     fill, map and the other index walkers; Array.from; ArrayBuffer and
//     typed-array constructors) throw a RangeError before creating more
//     than MaxAllocBytes (default MemoryLimit/8) or walking more than 2^24
//     elements. A single Go allocation too large for the machine would
//     otherwise kill the process, which no interrupt can prevent.
//   - A heap watchdog samples the Go heap every WatchInterval while any
//     script runs (nothing runs when none does). When the heap passes
//     MemoryLimit (default 512 MiB) it forces a collection, and if the
//     live heap is still above the limit it interrupts every running
//     attempt, which fails with ErrMemoryLimit. The limit is process-wide:
//     attempts running beside the culprit fail too and are retried.
//
// What holds: the process survives scripts that grow memory step by step
// in JS (string doubling, pushing objects) and the guarded built-ins, as
// long as the machine has room for about twice MemoryLimit plus one
// MaxAllocBytes allocation. What does not: an unguarded built-in that
// amplifies memory in one Go call (e.g. JSON.stringify of an array of
// many references to one large string, or a global RegExp replace with a
// long replacement) can still exhaust memory between checks; deploy with
// a container memory limit as the last line.
package script
