package script

import (
	"testing"

	"github.com/dop251/goja"
)

// guardedVM is a runtime with the sandbox guards for a per-call budget
// of maxAlloc bytes.
func guardedVM(t *testing.T, maxAlloc int64) *goja.Runtime {
	t.Helper()
	r, err := newRuntime(nil, nil, Options{MaxAllocBytes: maxAlloc}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return r.vm
}

// outcome evaluates expr and describes its value (or what it threw) as
// text, using the runtime's own JSON.stringify.
func outcome(t *testing.T, vm *goja.Runtime, expr string) string {
	t.Helper()
	v, err := vm.RunString(`(() => {
		try {
			const v = (0, eval)(` + "`" + `(${globalThis.__expr})` + "`" + `);
			return "value " + (typeof v) + " " + JSON.stringify(v, (k, x) => typeof x === "bigint" ? String(x) + "n" : x === undefined ? "<undefined>" : x);
		} catch (e) {
			return "threw " + (e && e.name) + ": " + (e && e.message);
		}
	})()`)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v.String()
}

// transparent are expressions whose result the guards must not change.
var transparent = []string{
	// JSON.stringify
	`JSON.stringify({ a: [1, "x", null, true, { b: undefined, c: () => 1, d: Symbol("s") }], e: -0, f: NaN, g: Infinity })`,
	`JSON.stringify({ a: [1, { b: [2, {}] }, []], c: "d" }, null, 2)`,
	`JSON.stringify([1, [2, [3]]], null, "\t-")`,
	`JSON.stringify({ a: 1, b: [1, 2] }, null, 12)`,
	`JSON.stringify({ a: 1 }, null, new Number(3))`,
	`JSON.stringify({ a: 1 }, null, new String("--"))`,
	`JSON.stringify({ a: 1, b: "2", c: [3] }, (k, v) => typeof v === "number" ? v * 2 : v)`,
	`JSON.stringify({ a: 1, b: { c: 2, d: 3 } }, function (k, v) { return k === "d" ? undefined : v })`,
	`JSON.stringify({ b: 1, 1: 2, a: 3, z: { a: 4, b: 5, 1: 6 } }, ["b", "1", "a", "z", "b", 1, new String("a")])`,
	`JSON.stringify([{ a: 1, b: 2 }, [{ a: 3, c: 4 }]], ["a"])`,
	`JSON.stringify({ a: { toJSON(k) { return "key:" + k } }, d: new Date(0) })`,
	`JSON.stringify([new Number(1), new String("s"), new Boolean(false), Object(Symbol())])`,
	`JSON.stringify("\u0000\n\"\\\ud800\udc00\ud800 é€😀")`,
	`JSON.stringify({ "k\"ey": 1, "é": 2 }, null, 1)`,
	`JSON.stringify([1, , 3])`,
	`JSON.stringify(undefined)`,
	`JSON.stringify(() => 1)`,
	`JSON.stringify(JSON.rawJSON("1e400"))`,
	`(() => { const a = []; a[0] = a; return JSON.stringify(a) })()`,
	`(() => { const o = { x: null }; o.x = o; return JSON.stringify(o, ["x"]) })()`,
	`JSON.stringify({ a: 1n })`,
	`JSON.stringify.name + JSON.stringify.length + JSON.parse.name + JSON.parse.length`,
	// JSON.parse
	`JSON.parse('{"a":[1,{"b":null}],"c":"\\u00e9","d":1e2}')`,
	`JSON.parse('[1,2,{"x":3}]', (k, v) => typeof v === "number" ? v + 1 : v)`,
	`JSON.parse("[".repeat(50) + "]".repeat(50))`,
	`JSON.parse("{bad")`,
	// strings
	`"ab".repeat(3) + "5".padStart(3, "0") + "5".padEnd(3, "xy")`,
	`"a".concat(1, null, undefined, { toString() { return "o" } }, [1, 2])`,
	`["ß".toUpperCase(), "İ".toLowerCase(), "Ab".toLocaleUpperCase(), "\u1e9b\u0323".normalize("NFKD"), "e\u0301".normalize()]`,
	`[encodeURIComponent("é ?&"), encodeURI("http://x/é?a=b c"), escape("é~ ")]`,
	"String.raw`a${1}b${2}c\\n`",
	`[String.raw({ raw: ["x", "y", "z"] }, 1, 2, 3), String.raw({ raw: "abc" }, "-", "+"), String.raw({ raw: [] })]`,
	// replace, replaceAll
	`"abcabc".replace("b", "[$&|$\u0060|$'|$$|$1|$<x>|$]")`,
	`"abcabc".replaceAll("b", "[$&|$\u0060|$'|$$|$1]")`,
	`"abc".replaceAll("", "-")`,
	`"aaa".replaceAll("aa", "b")`,
	`"abcabc".replace(/(?<n>b)(c)/g, "[$2$1$<n>$3$10$01$<zz>]")`,
	`"abcabc".replace(/(b)(c)/, "$0$00$1$12$2$&")`,
	`"abcabc".replace(/b/g, (...a) => JSON.stringify(a))`,
	`"abcabc".replace(/(?<n>b)/g, (...a) => JSON.stringify(a))`,
	`"abcabc".replaceAll("c", (m, off, s) => m + off + s.length)`,
	`(() => { const re = /b/g; re.lastIndex = 5; const r = "abcb".replace(re, "x"); return [r, re.lastIndex] })()`,
	`(() => { const re = /b/y; re.lastIndex = 1; const r = "abcb".replace(re, "x"); return [r, re.lastIndex] })()`,
	`"a1b2".replace({ [Symbol.replace](s, r) { return s + "|" + r } }, "R")`,
	`"a.b.c".replaceAll({ toString() { return "." } }, "!")`,
	`"xAx".replace(/a/gi, "$&$&")`,
	`"x".replaceAll(/x/, "y")`,
	`"😀a😀".replace(/(?:)/gu, "-")`,
	// split, match
	`["a,b,,c".split(","), "a,b,,c".split(",", 2), "abc".split(""), "a,b".split(/(,)/), "a,b,c".split(/,/, 2)]`,
	`["".split(""), "".split(","), "ab".split(/(?:)/u), "ab".split(undefined), "anullb".split(null), "a b".split({ toString: () => " " })]`,
	`["abcabc".match(/b/g), "abcabc".match(/(b)(c)?/), "abc".match("b"), "x".match(/y/g), [..."abab".matchAll(/a/g)].length, "abc".search("c")]`,
	// arrays
	`[1, [2, [3, [4]]]].flat(2).concat([1, [2, [3]]].flat(Infinity), [[1]].flat(0))`,
	`[1, 2].flatMap(x => [x, [x * 2]])`,
	`[1].concat([2], [[3]], 4, { length: 1, 0: 5, [Symbol.isConcatSpreadable]: true })`,
	`[Array.from("héllo😀"), Array.from({ length: 3 }, (_, i) => i * 2), Array.from(new Set([1, 2])), Array.from([1, 2], x => x + 1)]`,
	`[[1, [2, [3]], null, undefined, "a", { toString() { return "o" } }].join("-"), [].join(), [,].join(), Array(3).join("ab"), [1.5, -0, 1e21, 1e-7, NaN].join()]`,
	`[1, "a", null, { toLocaleString() { return "L" } }, [2, 3]].toLocaleString()`,
	`String([1, [2, [3]]]) + [1, 2].toString()`,
	`[new Array(3).fill(7), [3, 1, 2].map(x => x * 2).filter(x => x > 2).slice(1), [1, 2, 3].toReversed(), [3, 1, 2].toSorted(), [1, 2].with(0, 9), [1, 2, 3].toSpliced(1, 1)]`,
	`(() => { const a = [1, 2, 3, 4]; a.splice(1, 2, "x"); a.copyWithin(0, 2); a.reverse(); return [a, a.indexOf("x"), a.includes(4)] })()`,
	// objects and calls
	`[Object.keys("abc"), Object.values("ab"), Object.entries([7, 8]), Object.assign({}, "ab"), Reflect.ownKeys([1]), Object.getOwnPropertyDescriptors({ a: 1 })]`,
	`[Object.entries({ a: 1, b: [2] }), Object.keys({ b: 1, a: 2 }), Object.getOwnPropertyNames("ab")]`,
	`[Math.max.apply(null, [1, 5, 3]), Reflect.apply(Math.min, null, [4, 2]), Reflect.construct(Date, [0]).getTime(), (function () { return arguments.length }).apply(null, { length: 3 })]`,
	`[new Set([1, 1, 2]).size, new Map([[1, 2]]).get(1), new WeakSet([{}]) instanceof WeakSet, Promise.all([1]) instanceof Promise, typeof Promise.race]`,
	// typed arrays and buffers
	`[new Uint8Array([1, 2, 300]).join("|"), new Float64Array([1.5, -0]).toLocaleString(), String(new Int16Array([-1, 2]))]`,
	`[Array.from(Uint8Array.from("123")), Array.from(Uint8Array.of(1, 2)), new Uint8Array(new ArrayBuffer(4)).length, new Float32Array([1, 2]).length, new Uint8Array({ length: 2 }).length]`,
	`[Object.getPrototypeOf(Uint8Array) === Object.getPrototypeOf(Int8Array), Uint8Array.BYTES_PER_ELEMENT, Uint8Array.name, Uint8Array.length, new Uint8Array(1).constructor === Uint8Array, ArrayBuffer.isView(new DataView(new ArrayBuffer(1)))]`,
	`(() => { class X extends Uint8Array {} const x = new X(2); return [x instanceof X, x instanceof Uint8Array, x.constructor === X, x.map(v => v + 1) instanceof X] })()`,
	`[new ArrayBuffer(8).slice(2).byteLength, typeof BigInt64Array, new BigInt64Array([1n, -2n])]`,
	// code
	`[eval("1 + 2"), (0, eval)("typeof x"), new Function("a", "b", "return a + b")(1, 2), Function("return 7")(), (async function () {}).constructor.name, (function* () {}).constructor.name]`,
	`[Function.prototype.constructor === Function, (function () {}).constructor === Function, (() => 1) instanceof Function, typeof Function.prototype, Function.name, Function.length]`,
	`[new RegExp("a+", "g").source, RegExp("x").flags, /a/ instanceof RegExp, new RegExp(/a/g, "i").flags, "aA".match(new RegExp("A", "i"))[0], RegExp.name, RegExp.prototype.constructor === RegExp, /x/.constructor === RegExp]`,
	`(() => { class R extends RegExp {} const r = new R("b", "g"); return ["abab".replace(r, "c"), "abab".split(r), r instanceof RegExp, "abab".match(r)] })()`,
	`(() => { const r = /b/g; r.exec = function (s) { return RegExp.prototype.exec.call(this, s) }; return ["abab".replace(r, "[$&]"), "abab".match(r), "a,b".split(/,/)] })()`,
	"(() => { const r = /(?<n>b)(c)/g; r.exec = function (s) { return RegExp.prototype.exec.call(this, s) }; return \"abcabc\".replace(r, \"[$2$1$<n>$3$10$01$<zz>|$`|$'|$$|$&|$]\") })()",
	"(() => { const r = /(b)(c)?/; r.exec = function (s) { return RegExp.prototype.exec.call(this, s) }; return [\"abd\".replace(r, \"<$1|$2|$<x>|$9>\"), \"abd\".replace(r, (...a) => JSON.stringify(a))] })()",
	"(() => { class R extends RegExp {} return \"a-b-c\".replace(new R(\"(-)\", \"g\"), \"[$1$`]\") })()",
	`[[1, 2, 3].join(), [1, [2, 3]].join(";"), [null, undefined, 0, -0, 1.5, 1e300, true, "s"].join("|"), Array.prototype.join.call({ length: 2, 0: "a", 1: { toString: () => "b" } }, "+"), Array.prototype.join.call("abc", "."), [Symbol.iterator].length]`,
	`(() => { try { return [Symbol("x")].join() } catch (e) { return e.name } })()`,
	`[Array.prototype.join.name, Array.prototype.join.length, Object.keys(Array.prototype).includes("join")]`,
}

// TestGuards_Transparent: on ordinary input each guarded built-in gives
// exactly what goja's own gives (compared with an unguarded runtime).
func TestGuards_Transparent(t *testing.T) {
	plain, guarded := goja.New(), guardedVM(t, 64<<20)
	for _, expr := range transparent {
		_ = plain.Set("__expr", expr)
		_ = guarded.Set("__expr", expr)
		if want, got := outcome(t, plain, expr), outcome(t, guarded, expr); got != want {
			t.Errorf("%s\n got %s\nwant %s", expr, got, want)
		}
	}
}

// slowPaths are inputs large enough, for a 32 KiB budget, that the
// guards count matches one by one instead of trusting a bound, yet whose
// results fit: they must match goja's exactly.
var slowPaths = []string{
	`"a".repeat(16000).split(",")`,
	`("a".repeat(16000) + ",").split(",", 5)`,
	`("x".repeat(8000) + "yy").replace(/y/g, "$'")`,
	`("x".repeat(8000) + "yy").replaceAll("y", "$'")`,
	`("x".repeat(8000) + "yy").replaceAll("y", (m, i) => m + i)`,
	`"x".repeat(16000).match(/y/g)`,
	`("x".repeat(5000) + ",y,z").split(/(,)/)`,
	`("😀".repeat(300) + "a").replace(/a?/gu, "-")`,
	`(() => { const re = /x/y; re.lastIndex = 8990; return ["x".repeat(9000).replace(re, "$'").length, re.lastIndex] })()`,
	`(() => { const re = /(?<n>x)$/g; return ["x".repeat(9000).replace(re, "[$<n>$1]").slice(-8), re.lastIndex] })()`,
}

func TestGuards_SlowPathsTransparent(t *testing.T) {
	plain, guarded := goja.New(), guardedVM(t, 32<<10)
	for _, expr := range slowPaths {
		_ = plain.Set("__expr", expr)
		_ = guarded.Set("__expr", expr)
		want, got := outcome(t, plain, expr), outcome(t, guarded, expr)
		if got != want {
			t.Errorf("%s\n got %.300s\nwant %.300s", expr, got, want)
		}
	}
}

// TestGuards_EvalIsGlobal: eval is guarded by a wrapper, so it runs code
// in the global scope, as an indirect eval does (the README says so).
func TestGuards_EvalIsGlobal(t *testing.T) {
	vm := guardedVM(t, 64<<20)
	v, err := vm.RunString(`(function () { const local = 1; globalThis.g = 2; return [eval("typeof local"), eval("g"), eval("1 + 1")].join() })()`)
	if err != nil || v.String() != "undefined,2,2" {
		t.Fatalf("got %v, %v; want undefined,2,2", v, err)
	}
}
