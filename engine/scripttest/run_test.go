package scripttest

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRun_Passing(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js":     echoListener,
		"testdata/thing.json": `{"mail": "ada@example.com"}`,
		"scripts/echo.test.ts": `
import { test, describe, run, fixture, expect } from "switchboard/test";
import { schema } from "./lib/schema.ts";

test("mails what the fixture says", (t) => {
  const r = run("echo", fixture("thing.json"), { attempt: 2 });
  expect(r).toSucceed();
  expect(r.ok).toBe(true);
  expect(r.calls()).toHaveLength(1);
  expect(r.calls("mail.send")[0]).toEqual({
    module: "mail", fn: "send", name: "mail.send",
    args: [{ to: "ada@example.com", subject: "hi thing.happened", text: "attempt 2" }],
  });
});

describe("db", () => {
  test("writes are real and readable", (t) => {
    t.exec(schema);
    const r = run("echo", { insert: "hello" });
    expect(r).toSucceed();
    expect(t.query("SELECT body FROM notes")).toEqual([{ body: "hello" }]);
    expect(r.calls("db")).toHaveLength(1);
    expect(r.calls("db.exec")[0].args).toEqual(["INSERT INTO notes (body) VALUES (?)", "hello"]);
  });
});

test("kv is real per test, emit and http are recorded", (t) => {
  run("echo", { count: true });
  run("echo", { count: true });
  expect(t.kv("echo").get("count")).toBe(2);
  const r = run("echo", { emit: true, get: "https://example.com/x" });
  expect(r).toSucceed();
  expect(r.calls("emit")[0].args[0]).toBe("thing.followed");
  expect(r.calls("http.get")[0].args[0]).toBe("https://example.com/x");
});

test("listener failures are results, not test failures", (t) => {
  const r = run("echo", { throw: "boom" });
  expect(r).toFail("boom");
  expect(r.error.stack).toContain("scripts/echo.js:5:");
  expect(r).not.toSucceed();
});

test("async tests work", async (t) => {
  const v = await Promise.resolve(3);
  expect(v).toBe(3);
});

test.skip("not yet", (t) => {});
`,
		"scripts/lib/schema.ts": `export const schema: string = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);";`,
	})
	rep := runTests(t, cfg, Options{}, "scripts/echo.test.ts")
	if rep.Failed != 0 || rep.Passed != 5 || rep.Skipped != 1 {
		t.Fatalf("got %d passed, %d failed, %d skipped; want 5, 0, 1:\n%s", rep.Passed, rep.Failed, rep.Skipped, reportText(rep))
	}
	if _, ok := byName(rep)["db > writes are real and readable"]; !ok {
		t.Errorf("describe did not prefix the test name:\n%s", reportText(rep))
	}
}

func TestRun_FailingAssertion_ReportsOriginalLine(t *testing.T) {
	const testFile = `import { test, run, expect } from "switchboard/test";

type Mail = { to: string };

test("wrong recipient", (t) => {
  const r = run("echo", { mail: "ada@example.com" });
  const first: Mail = r.calls("mail.send")[0].args[0];
  expect(first.to).toBe("bob@example.com"); // MARK
});

test("uncaught error", (t) => {
  const x: any = undefined;
  return x.nope; // THROW
});
`
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js": echoListener, "scripts/bad.test.ts": testFile,
	})
	rep := runTests(t, cfg, Options{}, "scripts/bad.test.ts")
	if rep.Failed != 2 {
		t.Fatalf("want 2 failures:\n%s", reportText(rep))
	}
	results := byName(rep)
	cases := []struct {
		name, marker, message string
	}{
		{"wrong recipient", "// MARK", `expected "ada@example.com" to be "bob@example.com"`},
		{"uncaught error", "// THROW", "TypeError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[c.name]
			want := regexp.MustCompile(`scripts/bad\.test\.ts:` + strconv.Itoa(lineOf(t, testFile, c.marker)) + `:\d+$`)
			if r.Status != Fail || !want.MatchString(r.Location) {
				t.Errorf("location = %q, want it to match %s", r.Location, want)
			}
			if !strings.Contains(r.Message, c.message) {
				t.Errorf("message = %q, want it to contain %q", r.Message, c.message)
			}
		})
	}
}

func TestRun_CompileError_ReportsFileLineCol(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js":        echoListener,
		"scripts/broken.test.js": "import { test } from \"switchboard/test\";\n\ntest(\"x\", () => { let a = ; });\n",
		"scripts/fine.test.js":   "import { test } from \"switchboard/test\";\ntest(\"fine\", () => {});\n",
	})
	rep := runTests(t, cfg, Options{}, "scripts/broken.test.js", "scripts/fine.test.js")
	if rep.Failed != 1 || rep.Passed != 1 {
		t.Fatalf("want the broken file to fail and the other to pass:\n%s", reportText(rep))
	}
	r := rep.Results[0]
	if !regexp.MustCompile(`broken\.test\.js:3:\d+: `).MatchString(r.Message) {
		t.Errorf("message = %q, want file:3:col", r.Message)
	}
}

func TestRun_TopLevelProblems(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"throws", `import { test } from "switchboard/test"; throw new Error("top level broke");`, "top level broke"},
		{"no tests", `import { test } from "switchboard/test";`, "no tests"},
		{"imports switchboard", `import { db } from "switchboard"; import { test } from "switchboard/test"; test("x", () => db);`, `"switchboard/test"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
				"scripts/echo.js": echoListener, "scripts/x.test.js": c.file,
			})
			rep := runTests(t, cfg, Options{}, "scripts/x.test.js")
			if rep.Failed != 1 || !strings.Contains(rep.Results[0].Message, c.want) {
				t.Errorf("want one failure mentioning %q:\n%s", c.want, reportText(rep))
			}
		})
	}
}

func TestRun_Stubs(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js": echoListener,
		"scripts/stub.test.js": `
import { test, run, expect } from "switchboard/test";
const schema = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)";

test("unstubbed createTask answers a fake task", (t) => {
  t.exec(schema);
  expect(run("echo", { task: "https://cdn/x.mp4" })).toSucceed();
  expect(t.first("SELECT body FROM notes")).toEqual({ body: "task_dry_run" });
});

test("a value", (t) => {
  t.exec(schema);
  t.stub("ittybit.createTask", { id: "task_stubbed" });
  const r = run("echo", { task: "https://cdn/x.mp4" });
  expect(r).toSucceed();
  expect(t.first("SELECT body FROM notes").body).toBe("task_stubbed");
  expect(r.calls("ittybit.createTask")[0].args).toEqual([{ url: "https://cdn/x.mp4" }]);
});

test("a function of the arguments", (t) => {
  t.exec(schema);
  t.stub("ittybit.createTask", (params) => ({ id: "for " + params.url }));
  expect(run("echo", { task: "a.mp4" })).toSucceed();
  expect(t.first("SELECT body FROM notes").body).toBe("for a.mp4");
});

test("a function that throws", (t) => {
  t.exec(schema);
  t.stub("ittybit.createTask", () => { throw new Error("ittybit: 500"); });
  const r = run("echo", { task: "a.mp4" });
  expect(r).toFail("ittybit: 500");
  expect(t.query("SELECT body FROM notes")).toEqual([]);
});

test("an Error", (t) => {
  t.stub("mail.send", new Error("smtp down"));
  expect(run("echo", { mail: "a@example.com" })).toFail(/smtp down/);
});

test("db reads can be stubbed too", (t) => {
  t.stub("db.exec", { rowsAffected: 1 });
  expect(run("echo", { insert: "no table needed" })).toSucceed();
});

test("unknown names are refused", (t) => {
  expect(() => t.stub("ittybit.create", 1)).toThrow("no binding");
});

test("stubs last for one test", (t) => {
  t.exec(schema);
  expect(run("echo", { task: "a.mp4" })).toSucceed();
  expect(t.first("SELECT body FROM notes").body).toBe("task_dry_run");
});
`,
	})
	rep := runTests(t, cfg, Options{}, "scripts/stub.test.js")
	if rep.Failed != 0 || rep.Passed != 8 {
		t.Fatalf("want 8 passed:\n%s", reportText(rep))
	}
}

func TestRun_FreshDatabaseAndKVPerTest(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js": echoListener,
		"scripts/fresh.test.js": `
import { test, run, expect } from "switchboard/test";
for (const n of [1, 2, 3]) {
  test("test " + n, (t) => {
    expect(t.first("SELECT name FROM sqlite_master WHERE name = 'notes'")).toBeNull();
    expect(t.kv("echo").get("count")).toBeNull();
    t.schema("demo");
    expect(t.query("SELECT id FROM media")).toEqual([{ id: 1 }]);
    t.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    run("echo", { insert: "n" + n, count: true });
    expect(t.query("SELECT body FROM notes")).toEqual([{ body: "n" + n }]);
    expect(t.kv("echo").get("count")).toBe(1);
  });
}
`,
	})
	rep := runTests(t, cfg, Options{}, "scripts/fresh.test.js")
	if rep.Failed != 0 || rep.Passed != 3 {
		t.Fatalf("want 3 passed:\n%s", reportText(rep))
	}
}

func TestRun_Matchers(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js": echoListener,
		"scripts/matchers.test.js": `
import { test, run, expect, AssertionError } from "switchboard/test";
const fails = (fn, message) => expect(fn).toThrow(message);

test("passing forms", () => {
  expect(1).toBe(1);
  expect({ a: [1, { b: 2 }] }).toEqual({ a: [1, { b: 2 }] });
  expect({ a: 1, b: 2 }).toMatchObject({ a: 1 });
  expect("hello").toContain("ell");
  expect([{ a: 1 }]).toContain({ a: 1 });
  expect("hello").toMatch(/^h/);
  expect([1, 2]).toHaveLength(2);
  expect({ k: 1 }).toHaveProperty("k", 1);
  expect(1).toBeTruthy();
  expect(0).toBeFalsy();
  expect(null).toBeNull();
  expect(undefined).toBeUndefined();
  expect(0).toBeDefined();
  expect(2).toBeGreaterThan(1);
  expect(1).toBeLessThan(2);
  expect(1).not.toBe(2);
  expect(() => { throw new TypeError("bad"); }).toThrow(TypeError);
});

test("failure messages", () => {
  fails(() => expect(1).toBe(2), "expected 1 to be 2");
  fails(() => expect({ a: 1 }).toBe({ a: 1 }), "use toEqual");
  fails(() => expect([1]).toEqual([2]), "expected [1] to equal [2]");
  fails(() => expect(1).not.toBe(1), "expected 1 not to be 1");
  fails(() => expect("abc").toContain("z"), 'expected "abc" to contain "z"');
  fails(() => expect([]).toHaveLength(1), "to have length 1, got 0");
  fails(() => expect(() => {}).toThrow(), "it did not throw");
  fails(() => expect(run("echo", { throw: "boom" })).toSucceed(), "expected echo to succeed, but it threw Error: boom");
  fails(() => expect(run("echo", {})).toFail(), "expected echo to fail, but it succeeded");
  expect(() => expect(1).toBe(2)).toThrow(AssertionError);
});
`,
	})
	rep := runTests(t, cfg, Options{}, "scripts/matchers.test.js")
	if rep.Failed != 0 || rep.Passed != 2 {
		t.Fatalf("want 2 passed:\n%s", reportText(rep))
	}
}

func TestRun_Timeouts(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js|timeout = \"50ms\""}, map[string]string{
		"scripts/echo.js": echoListener,
		"scripts/slow.test.js": `
import { test, run, expect } from "switchboard/test";
test("listener timeout is a result", () => {
  const r = run("echo", { loop: true });
  expect(r.error.kind).toBe("timeout");
  expect(r).toFail("timed out");
});
test("a test that never ends fails", () => { for (;;) {} });
test("the next test still runs", () => {});
`,
	})
	rep := runTests(t, cfg, Options{Timeout: 200 * time.Millisecond}, "scripts/slow.test.js")
	results := byName(rep)
	if results["listener timeout is a result"].Status != Pass || results["the next test still runs"].Status != Pass {
		t.Errorf("want the listener timeout test and the next test to pass:\n%s", reportText(rep))
	}
	if r := results["a test that never ends fails"]; r.Status != Fail || !strings.Contains(r.Message, "timed out") {
		t.Errorf("want the endless test to fail with a timeout:\n%s", reportText(rep))
	}
}

func TestRun_Options(t *testing.T) {
	cfg := project(t, map[string]string{"echo": "scripts/echo.js"}, map[string]string{
		"scripts/echo.js": echoListener,
		"scripts/a.test.js": `
import { test } from "switchboard/test";
test("alpha one", () => {});
test("alpha two", () => {});
test("beta", () => { throw new Error("should not run"); });
`,
	})
	var seen []string
	rep := runTests(t, cfg, Options{Run: regexp.MustCompile("^alpha"), OnResult: func(r Result) { seen = append(seen, r.Name) }}, "scripts/a.test.js")
	if rep.Passed != 2 || rep.Failed != 0 || strings.Join(seen, ",") != "alpha one,alpha two" {
		t.Errorf("Run filter: seen %v:\n%s", seen, reportText(rep))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, cfg, []string{cfg.Resolve("scripts/a.test.js")}, Options{}); err == nil {
		t.Error("Run with a cancelled context: want an error")
	}
}
