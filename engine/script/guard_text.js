// Guards for strings, replace, split and match (part of the guard
// function body; see guard.js for the helpers it uses).

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
