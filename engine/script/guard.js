// Guards for the ECMAScript built-ins whose result can be far larger than
// what the script already holds: the size is set by an argument ("x".repeat(n)),
// by repeated references (join of one huge string many times), or by a
// per-element cost (split, Object.entries). Each wrapper works out the size
// of the result before calling the original and throws a RangeError when it
// would pass the per-call budget: a Go allocation too large for the machine
// is a fatal error no interrupt can stop. The wrappers use only functions
// captured here, so a script that later replaces a built-in cannot blind
// them. See guard.go for the budgets and the per-element costs.
// guard.js, guard_text.js and guard_values.js are one function body,
// joined by guard.go inside (function (L) { … }): this part captures
// the built-ins the wrappers rely on and defines the shared helpers.
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

