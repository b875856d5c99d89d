// Guards for the ECMAScript built-ins whose result can be far larger than
// what the script already holds: the size is set by an argument ("x".repeat(n)),
// by repeated references (join of one huge string many times), or by a
// per-element cost (split, Object.entries). Each wrapper works out the size
// of the result before calling the original and throws a RangeError when it
// would pass the per-call budget: a Go allocation too large for the machine
// is a fatal error no interrupt can stop. The wrappers use only functions
// captured here, so a script that later replaces a built-in cannot blind
// them. See guard.go for the budgets and the per-element costs.
(function (L) {
"use strict";
const { maxChars, maxItems, maxWalk, maxBytes, maxCode, budget } = L;

const apply = Reflect.apply, construct = Reflect.construct;
const defineProperty = Object.defineProperty, getPrototypeOf = Object.getPrototypeOf, create = Object.create;
const setPrototypeOf = Object.setPrototypeOf, objectKeys = Object.keys;
const isArray = Array.isArray, isView = ArrayBuffer.isView, trunc = Math.trunc, min = Math.min;
const Obj = Object, Str = String, Num = Number, RangeErr = RangeError, RegExpCtor = RegExp;
const uncurry = (f) => (self, ...args) => apply(f, self, args);
const indexOf = uncurry(String.prototype.indexOf), charCodeAt = uncurry(String.prototype.charCodeAt);
const slice = uncurry(String.prototype.slice), stringValue = uncurry(String.prototype.valueOf);
const arrayJoin = uncurry(Array.prototype.join), arrayPush = uncurry(Array.prototype.push), arrayPop = uncurry(Array.prototype.pop);
const bufferLength = uncurry(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get);
const regexpExec = RegExp.prototype.exec, exec = uncurry(regexpExec), regexpTest = uncurry(RegExp.prototype.test);
const flagsOf = uncurry(Object.getOwnPropertyDescriptor(RegExp.prototype, "flags").get);
const sourceOf = uncurry(Object.getOwnPropertyDescriptor(RegExp.prototype, "source").get);
const typedProto = getPrototypeOf(Uint8Array.prototype);
const typedLength = uncurry(Object.getOwnPropertyDescriptor(typedProto, "length").get);
const symIsConcatSpreadable = Symbol.isConcatSpreadable, symIterator = Symbol.iterator;
const symReplace = Symbol.replace, symSplit = Symbol.split;

const fail = (what) => { throw new RangeErr(what + " would exceed the script memory budget of " + budget + " per call"); };
const define = (obj, name, value) => defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });
// wrap replaces obj[name] with a function that runs guard(self, args) and
// returns what it returns; guard calls orig (the built-in) itself.
const wrap = (obj, name, guard) => {
	const orig = obj[name];
	if (typeof orig !== "function") return;
	const f = { [name](...args) { return guard(orig, this, args); } }[name];
	defineProperty(f, "length", { value: orig.length });
	if (typeof name === "symbol") defineProperty(f, "name", { value: orig.name });
	define(obj, name, f);
};
// check wraps with a guard that only inspects the arguments.
const check = (obj, name, inspect) => wrap(obj, name, (orig, self, args) => { inspect(self, args); return apply(orig, self, args); });
const int = (v) => { const n = trunc(Num(v)); return n > 0 ? n : 0; };
const lengthOf = (o) => (o === null || o === undefined) ? 0 : int(o.length);
const str = (v) => typeof v === "string" ? v : Str(v);
const isObject = (v) => v !== null && (typeof v === "object" || typeof v === "function");
const ascii = /^[\x00-\x7f]*$/;
define(ascii, "exec", regexpExec); // test() looks exec up: keep it the built-in
const isASCII = (s) => regexpTest(ascii, s);
// is reports whether getter accepts v (a built-in's brand check, which a
// script cannot fake the way it can fake instanceof).
const is = (getter, v) => { try { getter(v); return true; } catch (e) { return false; } };
// numberLength is how many characters String(n) has.
const numberLength = (n) => (n === trunc(n) && n > -1e21 && n < 1e21) ? (n < 0 ? 1 : 0) + (n === 0 ? 1 : Str(n < 0 ? -n : n).length) : Str(n).length;
// atomLength is the length of String(v) for a primitive, -1 for an object.
const atomLength = (v) => {
	switch (typeof v) {
	case "string": return v.length;
	case "number": return numberLength(v);
	case "boolean": return v ? 4 : 5;
	case "undefined": return 0;
	case "object": return v === null ? 0 : -1;
	default: return -1;
	}
};

// ---- strings -----------------------------------------------------------
check(String.prototype, "repeat", (s, args) => { if (str(s).length * int(args[0]) > maxChars) fail("String.prototype.repeat"); });
check(String.prototype, "padStart", (s, args) => { if (int(args[0]) > maxChars) fail("String.prototype.padStart"); });
check(String.prototype, "padEnd", (s, args) => { if (int(args[0]) > maxChars) fail("String.prototype.padEnd"); });
wrap(String.prototype, "concat", (orig, self, args) => {
	const s = str(self);
	let total = s.length, plain = true;
	for (let i = 0; i < args.length && plain; i++) {
		if (typeof args[i] !== "string") plain = false;
		else total += args[i].length;
	}
	if (plain) {
		if (total > maxChars) fail("String.prototype.concat");
		return apply(orig, s, args);
	}
	const parts = [];
	total = s.length;
	for (let i = 0; i < args.length; i++) {
		const p = str(args[i]);
		parts[i] = p;
		total += p.length;
		if (total > maxChars) fail("String.prototype.concat");
	}
	return apply(orig, s, parts);
});
// Case mapping and normalization grow non-ASCII text by a bounded factor.
const growth = (name, factor) => check(String.prototype, name, (s) => {
	s = str(s);
	if (s.length * factor > maxChars && !isASCII(s)) fail("String.prototype." + name);
});
for (const name of ["toUpperCase", "toLowerCase", "toLocaleUpperCase", "toLocaleLowerCase"]) growth(name, 3);
check(String.prototype, "normalize", (s, args) => {
	s = str(s);
	const form = args[0] === undefined ? "NFC" : str(args[0]);
	const factor = form === "NFKC" || form === "NFKD" ? 18 : form === "NFD" ? 4 : 3;
	if (s.length * factor > maxChars && !isASCII(s)) fail("String.prototype.normalize");
});
for (const [name, factor] of [["encodeURI", 9], ["encodeURIComponent", 9], ["escape", 6]]) {
	check(globalThis, name, (_, args) => {
		const s = str(args[0]);
		if (s.length * 3 > maxChars && (s.length * factor > maxChars || !isASCII(s))) fail(name);
	});
}
wrap(String, "raw", (orig, self, args) => {
	const raw = Obj(args[0]).raw, n = lengthOf(raw), parts = [];
	if (n > maxWalk) fail("String.raw");
	let total = 0;
	for (let i = 0; i < n; i++) {
		const p = str(raw[i]);
		arrayPush(parts, p);
		total += p.length;
		if (i + 1 < n && i + 1 < args.length) {
			const sub = str(args[i + 1]);
			arrayPush(parts, sub);
			total += sub.length;
		}
		if (total > maxChars) fail("String.raw");
	}
	return arrayJoin(parts, "");
});

// ---- replace, split, match ---------------------------------------------
// A replacement string is parsed once into literal text and $ references
// (GetSubstitution); expansion gives the length one match turns into.
const parseReplacement = (rep) => {
	const t = { literal: 0, amp: 0, before: 0, after: 0, caps: [], names: [] };
	for (let i = 0; i < rep.length; i++) {
		if (rep[i] !== "$" || i + 1 === rep.length) { t.literal++; continue; }
		const c = rep[i + 1];
		if (c === "$") { t.literal++; i++; }
		else if (c === "&") { t.amp++; i++; }
		else if (c === "`") { t.before++; i++; }
		else if (c === "'") { t.after++; i++; }
		else if (c >= "0" && c <= "9") {
			const two = i + 2 < rep.length && rep[i + 2] >= "0" && rep[i + 2] <= "9";
			arrayPush(t.caps, { one: +c, two: two ? +(c + rep[i + 2]) : -1, at: i });
			t.literal += 2; // counted as text; expanded when there are captures
			i++;
		} else if (c === "<") {
			const close = indexOf(rep, ">", i + 2);
			if (close < 0) { t.literal++; continue; }
			arrayPush(t.names, { name: slice(rep, i + 2, close), text: close - i + 1 });
			t.literal += close - i + 1;
			i = close;
		} else t.literal++;
	}
	t.refs = t.amp + t.before + t.after + t.caps.length + t.names.length;
	return t;
};
// expansion is the length of the replacement for one match: m is the
// match text, pos its index in s, caps its captures, groups its names.
const expansion = (t, s, m, pos, caps, groups) => {
	let n = t.literal + t.amp * m.length + t.before * pos + t.after * (s.length - pos - m.length);
	for (let i = 0; i < t.caps.length; i++) {
		const r = t.caps[i];
		let k = -1, width = 2;
		if (r.two >= 1 && r.two <= caps.length) { k = r.two; width = 3; } else if (r.one >= 1 && r.one <= caps.length) k = r.one;
		if (k > 0) n += (caps[k - 1] === undefined ? 0 : str(caps[k - 1]).length) - width;
	}
	if (groups !== undefined) {
		for (let i = 0; i < t.names.length; i++) {
			const g = groups[t.names[i].name];
			n += (g === undefined ? 0 : str(g).length) - t.names[i].text;
		}
	}
	return n;
};
// A function replacement is counted as it runs: each call is JS, so the
// deadline and the heap watchdog can stop a long one too.
const countingReplacer = (fn, base, what) => {
	let total = base;
	return function (...args) {
		const r = str(apply(fn, undefined, args));
		total += r.length;
		if (total > maxChars) fail(what);
		return r;
	};
};
// matchBytes is what goja keeps per match before it builds a result.
const matchBytes = (groups) => 64 + 16 * (groups + 1);
let groupCounts = create(null), cached = 0;
// groupsOf bounds the capture groups of a pattern by its "(" count.
const groupsOf = (rx) => {
	const src = sourceOf(rx);
	let n = groupCounts[src];
	if (n === undefined) {
		n = 0;
		for (let i = indexOf(src, "("); i >= 0; i = indexOf(src, "(", i + 1)) n++;
		if (++cached > 256) { groupCounts = create(null); cached = 1; }
		groupCounts[src] = n;
	}
	return n;
};
// standard says goja runs rx with its own matcher (no user exec).
const standard = (rx) => isObject(rx) && rx.exec === regexpExec && getPrototypeOf(rx) === RegExpCtor.prototype;
// eachMatch runs a copy of rx over s as a global search would, calling
// visit(match) until it returns false; rx itself is left untouched.
const eachMatch = (rx, s, global, visit) => {
	let flags = flagsOf(rx);
	if (global && indexOf(flags, "g") < 0) flags += "g";
	const copy = new RegExpCtor(sourceOf(rx), flags);
	if (!global) copy.lastIndex = rx.lastIndex;
	const unicode = indexOf(flags, "u") >= 0 || indexOf(flags, "v") >= 0;
	for (;;) {
		const m = exec(copy, s);
		if (m === null || visit(m) === false || !global) return;
		if (m[0] === "") copy.lastIndex = copy.lastIndex + (unicode && charCodeAt(s, copy.lastIndex) >= 0xd800 && charCodeAt(s, copy.lastIndex) <= 0xdbff ? 2 : 1);
	}
};

// replaceString guards String.prototype.replace/replaceAll for a string
// pattern: goja records every match first, then builds the result.
// dollars counts the $ in a replacement: each expands to at most the
// whole subject, which bounds the result without parsing it.
const dollars = (rep) => { let n = 0; for (let i = indexOf(rep, "$"); i >= 0; i = indexOf(rep, "$", i + 1)) n++; return n; };
// substitute builds one match's replacement, as GetSubstitution does.
const substitute = (rep, s, m, pos, caps, groups) => {
	const out = [];
	let last = 0;
	for (let i = indexOf(rep, "$"); i >= 0 && i + 1 < rep.length; i = indexOf(rep, "$", i)) {
		arrayPush(out, slice(rep, last, i));
		const c = rep[i + 1];
		let piece = null, width = 2;
		if (c === "$") piece = "$";
		else if (c === "&") piece = m;
		else if (c === "`") piece = slice(s, 0, pos);
		else if (c === "'") piece = slice(s, pos + m.length);
		else if (c >= "0" && c <= "9") {
			const two = i + 2 < rep.length && rep[i + 2] >= "0" && rep[i + 2] <= "9" ? +(c + rep[i + 2]) : -1;
			let k = -1;
			if (two >= 1 && two <= caps.length) { k = two; width = 3; } else if (+c >= 1 && +c <= caps.length) k = +c;
			if (k > 0) piece = caps[k - 1] === undefined ? "" : str(caps[k - 1]);
		} else if (c === "<" && groups !== undefined) {
			const close = indexOf(rep, ">", i + 2);
			if (close >= 0) {
				const g = groups[slice(rep, i + 2, close)];
				piece = g === undefined ? "" : str(g);
				width = close - i + 1;
			}
		}
		if (piece === null) { arrayPush(out, "$"); last = i + 1; i++; continue; }
		arrayPush(out, piece);
		i += width;
		last = i;
	}
	arrayPush(out, slice(rep, last));
	return arrayJoin(out, "");
};
// substituter turns a replacement string into the function that gives
// the same result, so that each match becomes a JS call that is counted.
const substituter = (rep) => function (...a) {
	let end = a.length - 1, groups;
	if (typeof a[end] !== "string") groups = a[end--];
	const caps = [];
	for (let i = 1; i < end - 1; i++) caps[i - 1] = a[i];
	return substitute(rep, a[end], a[0], a[end - 1], caps, groups);
};

// replaceString guards String.prototype.replace/replaceAll for a string
// pattern: goja records every match first, then builds the result.
const replaceString = (name, all) => wrap(String.prototype, name, (orig, self, args) => {
	let pat = args[0], rep = args[1];
	if ((isObject(pat) && pat[symReplace] != null) || self === null || self === undefined) return apply(orig, self, args);
	const s = str(self);
	pat = str(pat);
	const fn = typeof rep === "function";
	if (!fn) rep = str(rep);
	const what = "String.prototype." + name;
	const step = pat.length > 0 ? pat.length : 1;
	const most = all ? trunc(s.length / step) + 1 : 1;
	if (most * matchBytes(0) > maxBytes || (!fn && s.length + most * (rep.length + dollars(rep) * s.length) > maxChars)) {
		const t = fn ? null : parseReplacement(rep);
		if (pat === "" && all && (s.length + 1) * matchBytes(0) > maxBytes) fail(what); // a match at every index
		let count = 0, total = s.length;
		for (let p = indexOf(s, pat, 0); p >= 0; p = all ? indexOf(s, pat, p + step) : -1) {
			count++;
			total += fn ? -pat.length : expansion(t, s, pat, p, [], undefined) - pat.length;
			if (count * matchBytes(0) > maxBytes || total > maxChars) fail(what);
		}
	}
	return apply(orig, s, [pat, fn ? countingReplacer(rep, s.length, what) : rep]);
});
replaceString("replace", false);
replaceString("replaceAll", true);

wrap(RegExp.prototype, symReplace, (orig, rx, args) => {
	const s = str(args[0]);
	let rep = args[1];
	const fn = typeof rep === "function";
	if (!fn) rep = str(rep);
	const what = "String.prototype.replace";
	if (!standard(rx)) {
		// The script's own exec finds the matches: make each replacement
		// a counted JS call too.
		return apply(orig, rx, [s, countingReplacer(fn ? rep : substituter(rep), s.length, what)]);
	}
	if (fn) rep = countingReplacer(rep, s.length, what);
	const global = indexOf(flagsOf(rx), "g") >= 0, groups = groupsOf(rx);
	const most = global ? s.length + 1 : 1;
	if (most * matchBytes(groups) > maxBytes || (!fn && s.length + most * (rep.length + dollars(rep) * s.length) > maxChars)) {
		const t = fn ? null : parseReplacement(rep);
		let count = 0, total = s.length;
		eachMatch(rx, s, global, (m) => {
			count++;
			const caps = [];
			for (let i = 1; i < m.length; i++) caps[i - 1] = m[i];
			total += (fn ? 0 : expansion(t, s, m[0], m.index, caps, m.groups)) - m[0].length;
			if (count * matchBytes(m.length - 1) > maxBytes || total > maxChars) fail(what);
		});
	}
	return apply(orig, rx, [s, rep]);
});

wrap(String.prototype, "split", (orig, self, args) => {
	const sep = args[0], limit = args[1];
	if ((isObject(sep) && sep[symSplit] != null) || self === null || self === undefined || sep === undefined) return apply(orig, self, args);
	const s = str(self), p = str(sep);
	const lim = limit === undefined ? 2 ** 32 - 1 : (Num(limit) >>> 0);
	const most = min(lim, p.length === 0 ? s.length : trunc(s.length / p.length) + 1);
	if (most * L.pieceBytes > maxBytes) {
		let count = p.length === 0 ? min(lim, s.length) : 1;
		for (let i = p.length === 0 ? -1 : indexOf(s, p, 0); i >= 0 && count < lim; i = indexOf(s, p, i + p.length)) {
			if (++count * L.pieceBytes > maxBytes) fail("String.prototype.split");
		}
		if (count * L.pieceBytes > maxBytes) fail("String.prototype.split");
	}
	return apply(orig, s, [p, limit]);
});
wrap(RegExp.prototype, symSplit, (orig, rx, args) => {
	const s = str(args[0]), limit = args[1];
	if (!standard(rx)) return apply(orig, rx, [s, limit]);
	const groups = groupsOf(rx);
	const most = s.length + 1;
	if (most * (matchBytes(groups) + (groups + 1) * L.pieceBytes) > maxBytes) {
		let bytes = L.pieceBytes;
		eachMatch(rx, s, true, (m) => {
			bytes += matchBytes(m.length - 1) + m.length * L.pieceBytes;
			if (bytes > maxBytes) fail("String.prototype.split");
		});
	}
	return apply(orig, rx, [s, limit]);
});
wrap(RegExp.prototype, Symbol.match, (orig, rx, args) => {
	const s = str(args[0]);
	if (!standard(rx) || indexOf(flagsOf(rx), "g") < 0) return apply(orig, rx, [s]);
	const groups = groupsOf(rx);
	if ((s.length + 1) * (matchBytes(groups) + L.pieceBytes) > maxBytes) {
		let bytes = 0;
		eachMatch(rx, s, true, (m) => {
			bytes += matchBytes(m.length - 1) + L.pieceBytes;
			if (bytes > maxBytes) fail("String.prototype.match");
		});
	}
	return apply(orig, rx, [s]);
});

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
})
