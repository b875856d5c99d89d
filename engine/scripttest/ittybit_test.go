package scripttest

import (
	"strings"
	"testing"
)

// TestRun_IttybitJobs: createJob and getJob are recorded and stubbable
// like every binding; unstubbed, createJob answers a fake queued job and
// getJob says to stub it, since tests make no requests.
func TestRun_IttybitJobs(t *testing.T) {
	cfg := project(t, map[string]string{"thumb": "scripts/thumb.js"}, map[string]string{
		"scripts/thumb.js": `
import { ittybit, kv } from "switchboard";
export default function handle(event) {
  const p = event.payload;
  if (p.get) { kv.set("status", ittybit.getJob(p.get).status); return; }
  const job = ittybit.createJob({ input: p.input, kind: "image", options: { start: 2, width: 640, format: "webp" } });
  kv.set("job", job);
}
`,
		"scripts/thumb.test.js": `
import { test, run, expect } from "switchboard/test";

test("unstubbed createJob answers a fake queued job", (t) => {
  const r = run("thumb", { input: "https://cdn/x.mp4" });
  expect(r).toSucceed();
  expect(t.kv("thumb").get("job")).toEqual({ id: "job_dry_run", object: "job", kind: "image", status: "queued", dryRun: true });
  expect(r.calls("ittybit.createJob")[0].args[0]).toEqual({ input: "https://cdn/x.mp4", kind: "image", options: { start: 2, width: 640, format: "webp" } });
});

test("createJob and getJob can be stubbed", (t) => {
  t.stub("ittybit.createJob", (params) => ({ id: "job_for_" + params.input }));
  t.stub("ittybit.getJob", { id: "job_1", status: "succeeded" });
  expect(run("thumb", { input: "a.mp4" })).toSucceed();
  expect(t.kv("thumb").get("job")).toEqual({ id: "job_for_a.mp4" });
  const r = run("thumb", { get: "job_1" });
  expect(r).toSucceed();
  expect(r.calls("ittybit")).toEqual([{ module: "ittybit", fn: "getJob", name: "ittybit.getJob", args: ["job_1"] }]);
  expect(t.kv("thumb").get("status")).toBe("succeeded");
});

test("unstubbed getJob fails, saying to stub it", (t) => {
  expect(run("thumb", { get: "job_1" })).toFail("stub this call");
});

test("a job without an input is refused before any answer", (t) => {
  expect(run("thumb", {})).toFail("ittybit.createJob: params.input");
});
`,
	})
	rep := runTests(t, cfg, Options{}, "scripts/thumb.test.js")
	if rep.Failed != 0 || rep.Passed != 4 {
		t.Fatalf("want 4 passed:\n%s", reportText(rep))
	}
	if !strings.Contains(reportText(rep), "unstubbed createJob") {
		t.Fatalf("report:\n%s", reportText(rep))
	}
}
