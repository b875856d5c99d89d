// Package script compiles listener scripts (JavaScript or TypeScript ES
// modules, bundled in-process by esbuild) and runs them in goja with the
// "switchboard" host module. (Watching files for hot reload is
// engine/watch's job.)
//
// # Compile
//
// Compile bundles an entry file and its local imports into one CommonJS
// program; only "switchboard" stays external. Modules are read only when
// they are regular .js/.mjs/.cjs/.ts/.mts/.cts/.json files of at most
// 8 MiB. Errors and JS stacks point at the original files, through the
// source map esbuild makes in memory; no other map is ever read: the
// "//# sourceMappingURL=" comments of listener files are made inert
// before esbuild sees them (it would open the path they name), and code
// compiled at run time (eval, new Function) is parsed with source maps
// off. Syntax goja lacks is lowered (async generators, for await, using,
// import(name), which fails at the listener's own line); RegExp d and v
// flags fail at run time. Build compiles a whole set of listeners and
// reuses scripts whose inputs did not change.
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
//   - Built-in calls. A built-in runs in Go, where no interrupt reaches it,
//     and a Go allocation too large for the machine is fatal, so every
//     built-in whose result can be far larger than what the script holds
//     is guarded (guard*.js, guard_json.go, guard_join.go). The guard works
//     out the result's size first, or meters it as it is written, and past
//     MaxAllocBytes (default MemoryLimit/8) throws "RangeError: X would
//     exceed the script memory budget of N MiB per call". Guarded are
//     results sized by an argument (repeat, padStart, padEnd, fill,
//     Array.from, typed arrays, ArrayBuffer), by repeated references
//     (JSON.stringify, join, toString, toLocaleString, String and Array
//     concat, flat, flatMap, String.raw, replace and replaceAll with long
//     replacements or $ patterns), by a cost per element or per match
//     (split, match, replace with many groups, Object.keys, values,
//     entries, assign, apply, Reflect.apply and construct, Set, Map,
//     Promise.all, typed-array join, case mapping, normalize, URI
//     encoding), and by parsing (JSON.parse; eval, Function and its
//     generator and async kin, RegExp, which take sources of at most
//     MaxAllocBytes/1024 characters, 16 Ki at least). JSON.parse,
//     JSON.stringify and flat refuse nesting past 10000, which recurses in
//     Go towards its fatal stack limit; built-ins that walk every index
//     (indexOf, sort, forEach…) refuse lengths past 2^24. The guards use
//     only functions captured when the runtime is made, so a script that
//     replaces a built-in cannot blind them, and guarded constructors do
//     not lead back to the originals. eval runs in the global scope.
//   - A heap watchdog samples the Go heap every WatchInterval while any
//     script runs (nothing runs when none does). When the heap passes
//     MemoryLimit (default 512 MiB) it forces a collection, and if the
//     live heap is still above the limit, or the heap grew by more than
//     the limit while the collection ran, it interrupts every running
//     attempt, which fails with ErrMemoryLimit. The limit is process-wide:
//     attempts running beside the culprit fail too and are retried.
//
// What holds, each backed by a TestSandbox_* test with a 64 MiB limit: a
// guarded call fails before the heap grows by MemoryLimit plus twice
// MaxAllocBytes, and attempts of other scripts go on; JS that grows memory
// in small steps is stopped under twice MemoryLimit, a string doubled in a
// loop (one VM step per doubling, which no interrupt cuts short) under
// eight times it. What does not: VM steps that allocate or run long
// without a built-in call, namely BigInt ** and << (1n << (1n << 40n) asks
// for 128 GiB at once) and spread syntax over a large string or iterable
// ([...s], f(...s), {...s}), and regular expressions that backtrack
// catastrophically (time: the deadline cannot stop them). Nor compiling:
// goja folds constant expressions while it compiles (a literal
// 1n << (1n << 40n) asks for 128 GiB in Compile), and the default-export
// check runs the top level for up to a second. Package isolate runs all
// of that in child processes (CompileChecked, BuildChecked and
// LoadBundle are its hooks); without it, deploy with a container memory
// limit as the last line.
package script
