// The JS half of "switchboard/test": test, describe and expect. It is
// evaluated once per test file as a function of the Go host object, which
// supplies register, run and fixture.
(function (host) {
  "use strict";

  class AssertionError extends Error {
    constructor(message) {
      super(message);
      this.name = "AssertionError";
    }
  }

  const MAX_TEXT = 400;

  // fmt shows a value the way a failure message should: strings quoted,
  // objects as compact JSON-like text, errors by name and message.
  function fmt(v, depth) {
    depth = depth || 0;
    if (v === undefined) return "undefined";
    if (v === null) return "null";
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
    if (typeof v === "function") return "[Function" + (v.name ? " " + v.name : "") + "]";
    if (typeof v === "symbol") return v.toString();
    if (v instanceof Error) return v.name + ": " + v.message;
    if (v instanceof Date) return "Date(" + v.toISOString() + ")";
    if (depth > 3) return Array.isArray(v) ? "[…]" : "{…}";
    let out;
    if (Array.isArray(v)) {
      const items = v.slice(0, 20).map((x) => fmt(x, depth + 1));
      if (v.length > 20) items.push("… " + (v.length - 20) + " more");
      out = "[" + items.join(", ") + "]";
    } else {
      const keys = Object.keys(v).filter((k) => k !== "stack" && typeof v[k] !== "function");
      out = "{" + keys.map((k) => k + ": " + fmt(v[k], depth + 1)).join(", ") + "}";
    }
    return depth === 0 && out.length > MAX_TEXT ? out.slice(0, MAX_TEXT) + "…" : out;
  }

  function equal(a, b) {
    if (Object.is(a, b)) return true;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (a instanceof Date || b instanceof Date) {
      return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
    }
    if (Array.isArray(a)) {
      return a.length === b.length && a.every((x, i) => equal(x, b[i]));
    }
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal(a[k], b[k]));
  }

  // matches reports whether actual has every property of expected
  // (recursively); arrays must match element by element.
  function matches(actual, expected) {
    if (typeof expected !== "object" || expected === null || expected instanceof Date) {
      return equal(actual, expected);
    }
    if (typeof actual !== "object" || actual === null) return false;
    if (Array.isArray(expected)) {
      return Array.isArray(actual) && actual.length === expected.length && expected.every((x, i) => matches(actual[i], x));
    }
    return Object.keys(expected).every((k) => matches(actual[k], expected[k]));
  }

  function textMatches(text, expected) {
    if (expected instanceof RegExp) return expected.test(text);
    return String(text).includes(String(expected));
  }

  function isRunResult(v) {
    return v !== null && typeof v === "object" && typeof v.calls === "function" && "error" in v;
  }

  function outcome(r) {
    if (r.error) return "it threw " + r.error.message + (r.error.stack ? "\n" + r.error.stack : "");
    if (r.snoozed) return "it snoozed for " + r.snoozed;
    if (r.cancelled) return "it was cancelled: " + r.cancelled;
    return "it succeeded";
  }

  function matchers(actual, negate) {
    const not = negate ? "not " : "";
    const check = (pass, message) => {
      if (Boolean(pass) === negate) throw new AssertionError(message);
    };
    const m = {
      toBe(expected) {
        check(Object.is(actual, expected), `expected ${fmt(actual)} ${not}to be ${fmt(expected)}` +
          (!negate && equal(actual, expected) ? " (equal, but not the same object: use toEqual)" : ""));
      },
      toEqual(expected) {
        check(equal(actual, expected), `expected ${fmt(actual)} ${not}to equal ${fmt(expected)}`);
      },
      toMatchObject(expected) {
        check(matches(actual, expected), `expected ${fmt(actual)} ${not}to match ${fmt(expected)}`);
      },
      toContain(item) {
        let pass;
        if (typeof actual === "string") pass = actual.includes(String(item));
        else if (Array.isArray(actual)) pass = actual.some((x) => equal(x, item));
        else throw new AssertionError(`toContain: expected a string or an array, got ${fmt(actual)}`);
        check(pass, `expected ${fmt(actual)} ${not}to contain ${fmt(item)}`);
      },
      toMatch(pattern) {
        check(textMatches(actual, pattern), `expected ${fmt(actual)} ${not}to match ${String(pattern)}`);
      },
      toHaveLength(n) {
        const len = actual === null || actual === undefined ? undefined : actual.length;
        check(len === n, `expected ${fmt(actual)} ${not}to have length ${n}` + (negate ? "" : `, got ${len}`));
      },
      toHaveProperty(key, ...value) {
        const has = actual !== null && actual !== undefined && Object.prototype.hasOwnProperty.call(Object(actual), key);
        const pass = has && (value.length === 0 || equal(actual[key], value[0]));
        check(pass, `expected ${fmt(actual)} ${not}to have property ${key}` + (value.length ? ` = ${fmt(value[0])}` : ""));
      },
      toBeTruthy() {
        check(actual, `expected ${fmt(actual)} ${not}to be truthy`);
      },
      toBeFalsy() {
        check(!actual, `expected ${fmt(actual)} ${not}to be falsy`);
      },
      toBeNull() {
        check(actual === null, `expected ${fmt(actual)} ${not}to be null`);
      },
      toBeUndefined() {
        check(actual === undefined, `expected ${fmt(actual)} ${not}to be undefined`);
      },
      toBeDefined() {
        check(actual !== undefined, `expected ${fmt(actual)} ${not}to be defined`);
      },
      toBeGreaterThan(n) {
        check(actual > n, `expected ${fmt(actual)} ${not}to be greater than ${fmt(n)}`);
      },
      toBeLessThan(n) {
        check(actual < n, `expected ${fmt(actual)} ${not}to be less than ${fmt(n)}`);
      },
      toThrow(expected) {
        if (typeof actual !== "function") {
          throw new AssertionError(`toThrow: expected a function, got ${fmt(actual)}`);
        }
        let thrown = null;
        let threw = false;
        try {
          actual();
        } catch (e) {
          threw = true;
          thrown = e;
        }
        let pass = threw;
        const message = thrown && typeof thrown === "object" && "message" in thrown ? thrown.message : String(thrown);
        if (threw && expected !== undefined) {
          if (typeof expected === "function" && expected.prototype instanceof Error || expected === Error) {
            pass = thrown instanceof expected;
          } else {
            pass = textMatches(message, expected);
          }
        }
        const want = expected === undefined ? "" : " " + (typeof expected === "function" ? expected.name : fmt(expected));
        check(pass, `expected function ${not}to throw${want}` + (threw ? `, it threw ${fmt(thrown)}` : ", it did not throw"));
      },
      // toSucceed: a run() result whose listener returned normally.
      toSucceed() {
        if (!isRunResult(actual)) throw new AssertionError(`toSucceed: expected the result of run(), got ${fmt(actual)}`);
        const ok = !actual.error && !actual.snoozed && !actual.cancelled;
        check(ok, `expected ${actual.listener} ${not}to succeed, but ${outcome(actual)}`);
      },
      // toFail: a run() result whose listener threw (with a message
      // containing or matching expected, when given).
      toFail(expected) {
        if (!isRunResult(actual)) throw new AssertionError(`toFail: expected the result of run(), got ${fmt(actual)}`);
        const pass = Boolean(actual.error) && (expected === undefined || textMatches(actual.error.message, expected));
        const want = expected === undefined ? "" : ` with ${expected instanceof RegExp ? String(expected) : fmt(expected)}`;
        check(pass, `expected ${actual.listener} ${not}to fail${want}, but ${outcome(actual)}`);
      },
    };
    return m;
  }

  function expect(actual) {
    const m = matchers(actual, false);
    m.not = matchers(actual, true);
    return m;
  }

  const prefix = [];
  function test(name, fn) {
    if (typeof fn !== "function") throw new TypeError(`test ${fmt(name)}: expected a function`);
    host.register(prefix.concat(String(name)).join(" > "), fn, false);
  }
  test.skip = function (name, fn) {
    host.register(prefix.concat(String(name)).join(" > "), fn, true);
  };
  function describe(name, fn) {
    prefix.push(String(name));
    try {
      fn();
    } finally {
      prefix.pop();
    }
  }

  return { test, describe, expect, run: host.run, fixture: host.fixture, AssertionError };
});
