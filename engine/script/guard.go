package script

import (
	"github.com/dop251/goja"
)

// maxElements bounds the length a built-in may walk or fill in one call.
// goja arrays with a huge length are sparse and cost nothing until a
// built-in such as fill or map walks every index in Go, where neither a
// timeout nor the heap watchdog can stop it.
const maxElements = 1 << 24

// guardSource wraps the ECMAScript built-ins whose output size is set by
// an argument or a length rather than by memory the script already holds.
// Each wrapper checks the size it is about to create and throws a
// RangeError instead of letting Go allocate it: a Go allocation too large
// for the machine is a fatal error, not a panic.
const guardSource = `(function (maxChars, maxElements) {
"use strict";
const fail = (what) => { throw new RangeError(what + " would exceed the script memory budget"); };
const define = (obj, name, value) => Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });
const wrap = (obj, name, check) => {
	const orig = obj[name];
	if (typeof orig !== "function") return;
	const f = { [name](...args) { check(this, args); return Reflect.apply(orig, this, args); } }[name];
	Object.defineProperty(f, "length", { value: orig.length });
	define(obj, name, f);
};
const int = (v) => { const n = Math.trunc(Number(v)); return n > 0 ? n : 0; };
const lengthOf = (o) => (o === null || o === undefined) ? 0 : int(o.length);
const str = (v) => typeof v === "string" ? v : String(v);

wrap(String.prototype, "repeat", (s, [n]) => { if (str(s).length * int(n) > maxChars) fail("String.prototype.repeat"); });
wrap(String.prototype, "padStart", (s, [n]) => { if (int(n) > maxChars) fail("String.prototype.padStart"); });
wrap(String.prototype, "padEnd", (s, [n]) => { if (int(n) > maxChars) fail("String.prototype.padEnd"); });
wrap(String.prototype, "concat", (s, args) => {
	let total = str(s).length;
	for (const a of args) total += typeof a === "string" ? a.length : 0;
	if (total > maxChars) fail("String.prototype.concat");
});
wrap(String.prototype, "replaceAll", (s, [pat, rep]) => {
	if (typeof pat !== "string" || typeof rep !== "string" || rep.length <= pat.length) return;
	s = str(s);
	let count = 0;
	if (pat.length === 0) count = s.length + 1;
	else for (let i = s.indexOf(pat); i >= 0; i = s.indexOf(pat, i + pat.length)) count++;
	if (s.length + count * (rep.length - pat.length) > maxChars) fail("String.prototype.replaceAll");
});

const walkers = ["concat", "copyWithin", "every", "fill", "filter", "find", "findIndex", "findLast",
	"findLastIndex", "flat", "flatMap", "forEach", "includes", "indexOf", "lastIndexOf", "map",
	"reduce", "reduceRight", "reverse", "slice", "some", "sort", "splice", "toLocaleString",
	"toReversed", "toSorted", "toSpliced", "with"];
for (const name of walkers) {
	wrap(Array.prototype, name, (a) => { if (lengthOf(a) > maxElements) fail("Array.prototype." + name); });
}
wrap(Array.prototype, "join", (a, [sep]) => {
	const n = lengthOf(a);
	if (n > maxElements) fail("Array.prototype.join");
	let total = (n > 0 ? n - 1 : 0) * (sep === undefined ? 1 : str(sep).length);
	for (let i = 0; i < n && total <= maxChars; i++) {
		const v = a[i];
		if (typeof v === "string") total += v.length;
	}
	if (total > maxChars) fail("Array.prototype.join");
});
wrap(Array, "from", (_, [src]) => {
	if (src !== null && typeof src === "object" && typeof src[Symbol.iterator] !== "function" && lengthOf(src) > maxElements) fail("Array.from");
});

// A plain function, not a Proxy: goja's instanceof rejects a Proxy.
const guardCtor = (name, bytes) => {
	const C = globalThis[name];
	if (typeof C !== "function") return;
	const G = function (...args) {
		if (new.target === undefined) return Reflect.apply(C, this, args);
		if (bytes(args) > maxChars * 2) fail(name);
		return Reflect.construct(C, args, new.target === G ? C : new.target);
	};
	Object.defineProperty(G, "name", { value: name });
	Object.defineProperty(G, "length", { value: C.length });
	G.prototype = C.prototype;
	Object.setPrototypeOf(G, C);
	define(C.prototype, "constructor", G);
	define(globalThis, name, G);
};
guardCtor("ArrayBuffer", ([n]) => int(n));
for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
	"Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
	const size = globalThis[name] ? globalThis[name].BYTES_PER_ELEMENT : 1;
	guardCtor(name, ([a]) => {
		if (a === null || a === undefined) return 0;
		if (typeof a !== "object") return int(a) * size;
		if (a instanceof ArrayBuffer) return 0;
		return (typeof a[Symbol.iterator] === "function" && !("length" in a)) ? 0 : lengthOf(a) * size;
	});
}
})`

var guardProgram = goja.MustCompile("switchboard:guard", guardSource, true)

// installGuards wraps the allocating built-ins of rt with a budget of
// maxBytes per call.
func installGuards(rt *goja.Runtime, maxBytes int64) error {
	v, err := rt.RunProgram(guardProgram)
	if err != nil {
		return err
	}
	fn, _ := goja.AssertFunction(v)
	_, err = fn(goja.Undefined(), rt.ToValue(maxBytes/2), rt.ToValue(maxElements))
	return err
}
