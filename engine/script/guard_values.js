// Guards for arrays, objects, collections, constructors and code (part
// of the guard function body; see guard.js for the helpers it uses).

// ---- arrays ------------------------------------------------------------
// Walkers visit every index in Go (a sparse array of length 2^32-1 costs
// nothing until then); allocating ones also create one slot per element.
const walkers = ["copyWithin", "every", "find", "findIndex", "findLast", "findLastIndex", "forEach",
	"includes", "indexOf", "lastIndexOf", "reduce", "reduceRight", "reverse", "some", "sort"];
for (const name of walkers) check(Array.prototype, name, (a) => { if (lengthOf(a) > maxWalk) fail("Array.prototype." + name); });
const allocators = ["fill", "filter", "map", "slice", "splice", "toReversed", "toSorted", "toSpliced", "with"];
for (const name of allocators) check(Array.prototype, name, (a) => { if (lengthOf(a) > maxItems) fail("Array.prototype." + name); });
const spreadLength = (v) => (isArray(v) || (isObject(v) && v[symIsConcatSpreadable])) ? lengthOf(v) : 1;
check(Array.prototype, "concat", (a, args) => {
	let total = spreadLength(Obj(a));
	for (let i = 0; i < args.length && total <= maxItems; i++) total += spreadLength(args[i]);
	if (total > maxItems) fail("Array.prototype.concat");
});
check(Array.prototype, "flat", (a, args) => {
	const depth = args[0] === undefined ? 1 : Num(args[0]);
	let total = 0;
	const stack = [a, depth > 0 ? depth : 0, 0]; // array, depth left, nesting
	while (stack.length > 0) {
		const level = arrayPop(stack), d = arrayPop(stack), arr = arrayPop(stack), n = lengthOf(arr);
		if (n > maxItems) fail("Array.prototype.flat");
		if (level > L.maxDepth) fail("Array.prototype.flat of arrays nested deeper than " + L.maxDepth);
		for (let i = 0; i < n; i++) {
			const v = arr[i];
			if (d >= 1 && isArray(v)) { arrayPush(stack, v, d - 1, level + 1); continue; }
			if (++total > maxItems) fail("Array.prototype.flat");
		}
	}
});
wrap(Array.prototype, "flatMap", (orig, a, args) => {
	if (lengthOf(a) > maxItems) fail("Array.prototype.flatMap");
	const fn = args[0];
	if (typeof fn !== "function") return apply(orig, a, args);
	let total = 0;
	return apply(orig, a, [function (...xs) {
		const r = apply(fn, this, xs);
		total += isArray(r) ? lengthOf(r) : 1;
		if (total > maxItems) fail("Array.prototype.flatMap");
		return r;
	}, args[1]]);
});
// Array.prototype.join is guarded in Go (guard_join.go).
wrap(Array.prototype, "toLocaleString", (orig, self) => {
	const a = Obj(self), n = lengthOf(a), parts = [];
	if (n > maxWalk) fail("Array.prototype.toLocaleString");
	let total = n > 0 ? n - 1 : 0;
	for (let i = 0; i < n; i++) {
		const v = a[i];
		const p = v === undefined || v === null ? "" : str(v.toLocaleString());
		parts[i] = p;
		total += p.length;
		if (total > maxChars) fail("Array.prototype.toLocaleString");
	}
	return arrayJoin(parts, ",");
});
const iterableLength = (src) => (typeof src === "string" || isView(src) || isArray(src)) ? lengthOf(src) : -1;
check(Array, "from", (_, args) => {
	const src = args[0];
	if (src === null || src === undefined) return;
	const n = iterableLength(src);
	if (n > maxItems || (n < 0 && typeof src[symIterator] !== "function" && lengthOf(src) > maxItems)) fail("Array.from");
});
// Calls that spread an array-like into arguments copy every element.
check(Function.prototype, "apply", (_, args) => { if (lengthOf(args[1]) > maxItems) fail("Function.prototype.apply"); });
check(Reflect, "apply", (_, args) => { if (lengthOf(args[2]) > maxItems) fail("Reflect.apply"); });
check(Reflect, "construct", (_, args) => { if (lengthOf(args[1]) > maxItems) fail("Reflect.construct"); });

// ---- objects, collections, promises ------------------------------------
// Index keys of arrays, typed arrays and strings exist only once listed.
const indexed = (o) => typeof o === "string" || isArray(o) || isView(o) || (isObject(o) && is(stringValue, o));
const perKey = (obj, name, bytes, all) => check(obj, name, (_, args) => {
	const o = args[0];
	let n = indexed(o) ? lengthOf(o) : 0;
	if (all && n === 0 && isObject(o)) n = objectKeys(o).length;
	if (n * bytes > maxBytes) fail(name);
});
perKey(Object, "keys", L.keyBytes, false);
perKey(Object, "getOwnPropertyNames", L.keyBytes, false);
perKey(Reflect, "ownKeys", L.keyBytes, false);
perKey(Object, "values", L.pieceBytes, false);
perKey(Object, "entries", L.entryBytes, true);
perKey(Object, "getOwnPropertyDescriptors", L.entryBytes, true);
check(Object, "assign", (_, args) => {
	let n = 0;
	for (let i = 1; i < args.length; i++) if (indexed(args[i])) n += lengthOf(args[i]);
	if (n * L.propBytes > maxBytes) fail("Object.assign");
});
for (const name of ["all", "allSettled", "any", "race"]) {
	check(Promise, name, (_, args) => { if (iterableLength(args[0]) * L.propBytes > maxBytes) fail("Promise." + name); });
}

// guardCtor returns a stand-in for the constructor C that runs inspect
// on the arguments of new (and of plain calls when callable) first. It
// is a plain function, not a Proxy (goja's instanceof rejects a Proxy),
// and C stays out of reach: the stand-in carries copies of C's statics
// instead of inheriting them, so Object.getPrototypeOf cannot lead back
// to C, and C.prototype.constructor is the stand-in.
const guarded = new Map();
const guardCtor = (C, inspect, callable) => {
	const G = function (...args) {
		if (new.target === undefined && callable) { inspect(args); return apply(C, this, args); }
		if (new.target === undefined) return apply(C, this, args);
		inspect(args);
		return construct(C, args, new.target === G ? C : new.target);
	};
	defineProperty(G, "name", { value: C.name });
	defineProperty(G, "length", { value: C.length });
	for (const key of Reflect.ownKeys(C)) {
		if (key !== "prototype" && key !== "name" && key !== "length") defineProperty(G, key, Object.getOwnPropertyDescriptor(C, key));
	}
	G.prototype = C.prototype;
	const parent = getPrototypeOf(C);
	setPrototypeOf(G, guarded.has(parent) ? guarded.get(parent) : parent);
	define(C.prototype, "constructor", G);
	guarded.set(C, G);
	return G;
};
const guardGlobal = (name, inspect, callable) => {
	if (typeof globalThis[name] === "function") define(globalThis, name, guardCtor(globalThis[name], inspect, callable));
};
guardGlobal("ArrayBuffer", (args) => { if (int(args[0]) > maxBytes) fail("ArrayBuffer"); });
for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
	"Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
	const T = globalThis[name];
	if (typeof T !== "function") continue;
	const size = T.BYTES_PER_ELEMENT;
	const bytes = (a) => {
		if (a === null || a === undefined) return 0;
		if (typeof a !== "object") return int(a) * size;
		if (is(bufferLength, a)) return 0;
		return (typeof a[symIterator] === "function" && !("length" in a)) ? 0 : lengthOf(a) * size;
	};
	// from and of construct through the stand-in, so they are checked too.
	guardGlobal(name, (args) => { if (bytes(args[0]) > maxBytes) fail(name); });
}
// %TypedArray%.prototype.join prints up to 24 characters per element.
const typedJoin = (name) => wrap(typedProto, name, (orig, self, args) => {
	const n = typedLength(self);
	const sep = name === "join" && args[0] !== undefined ? str(args[0]) : ",";
	if (n * (24 + sep.length) > maxChars) {
		let total = (n > 0 ? n - 1 : 0) * sep.length;
		for (let i = 0; i < n && total <= maxChars; i++) total += atomLength(self[i]) < 0 ? Str(self[i]).length : atomLength(self[i]);
		if (total > maxChars) fail("%TypedArray%.prototype." + name);
	}
	return apply(orig, self, args);
});
typedJoin("join");
typedJoin("toLocaleString");
for (const name of ["Map", "Set", "WeakMap", "WeakSet"]) {
	guardGlobal(name, (args) => { if (iterableLength(args[0]) * L.propBytes > maxBytes) fail(name); });
}

// ---- code --------------------------------------------------------------
// Compiling text costs far more than the text (and deep nesting recurses
// in Go), so eval, Function and RegExp take bounded sources.
const codeLength = (args) => { let n = 0; for (let i = 0; i < args.length; i++) n += typeof args[i] === "string" ? args[i].length : str(args[i]).length; return n; };
const evalOrig = globalThis.eval;
define(globalThis, "eval", { eval(code) {
	if (typeof code === "string" && code.length > maxCode) fail("eval");
	return evalOrig(code);
} }.eval);
for (const sample of [function () {}, function* () {}, async function () {}]) { // goja has no async generators
	const C = getPrototypeOf(sample).constructor;
	const G = guardCtor(C, (args) => { if (codeLength(args) > maxCode) fail(C.name); }, true);
	if (C === Function) define(globalThis, "Function", G);
}
guardGlobal("RegExp", (args) => {
	const p = args[0];
	if (typeof p === "string" ? p.length > maxCode : (isObject(p) && !(p instanceof RegExpCtor) && str(p).length > maxCode)) fail("RegExp");
}, true);
check(RegExp.prototype, "compile", (_, args) => { if (typeof args[0] === "string" && args[0].length > maxCode) fail("RegExp.prototype.compile"); });
// match, matchAll and search compile a string argument as a pattern.
for (const name of ["match", "matchAll", "search"]) {
	check(String.prototype, name, (_, args) => { if (typeof args[0] === "string" && args[0].length > maxCode) fail("String.prototype." + name); });
}
