// Tests for generate_thumbnail. The Ittybit API is never called in tests:
// ittybit.createJob is recorded and answers a fake queued job unless a
// test stubs it.
import { test, run, fixture, expect } from "switchboard/test";

// The guide's request body, word for word.
const guideRequest = (input) => ({
  input,
  kind: "image",
  options: { start: 2, width: 640, format: "webp" },
});

test("asks Ittybit for the guide's thumbnail job and remembers its id", (t) => {
  t.schema("demo");
  t.stub("ittybit.createJob", { id: "job_thumb_1", object: "job", kind: "image", status: "queued" });
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  const created = r.calls("ittybit.createJob");
  expect(created).toHaveLength(1);
  expect(created[0].args).toEqual([guideRequest("https://cdn.ittybit.com/demo/video.mp4")]);
  expect(r.calls("ittybit.createTask")).toEqual([]);
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBe("job_thumb_1");
});

test("the Idempotency-Key is the binding's default, derived from the job", (t) => {
  t.schema("demo");
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"), { jobId: "job_42" });
  expect(r).toSucceed();
  // No second argument: the binding sends "switchboard-<job id>".
  expect(r.calls("ittybit.createJob")[0].args).toHaveLength(1);
});

test("works on the event envelope (task.succeeded) too", (t) => {
  t.schema("demo");
  t.exec("INSERT INTO media (id, user_id, task_id, status) VALUES (2, 1, 'task_demo_video_2', 'processing')");
  const r = run("generate_thumbnail", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(r.calls("ittybit.createJob")[0].args[0]).toEqual(guideRequest("https://cdn.ittybit.com/demo/video-2.mp4"));
  // Unstubbed, the dry-run binding answers a fake queued job.
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 2").thumbnail_task_id).toBe("job_dry_run");
});

test("works on a video job object (POST /jobs) too", (t) => {
  t.schema("demo");
  const job = fixture("ittybit_job_succeeded.json");
  job.id = "job_demo_video";
  job.kind = "video";
  job.output = "https://cdn.ittybit.com/demo/video-5.mp4";
  job.tasks = [];
  t.exec("INSERT INTO media (id, user_id, task_id, status) VALUES (2, 1, 'job_demo_video', 'processing')");
  const r = run("generate_thumbnail", job);
  expect(r).toSucceed();
  expect(r.calls("ittybit.createJob")[0].args[0]).toEqual(guideRequest("https://cdn.ittybit.com/demo/video-5.mp4"));
});

test("is idempotent: a thumbnail already requested is not requested again", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'job_thumb_earlier' WHERE id = 1");
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  expect(r.calls("ittybit")).toHaveLength(0);
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBe("job_thumb_earlier");
});

test("a second delivery of the same webhook makes no second request", (t) => {
  t.schema("demo");
  t.stub("ittybit.createJob", { id: "job_thumb_1" });
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json")).calls("ittybit.createJob")).toHaveLength(1);
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json")).calls("ittybit.createJob")).toHaveLength(0);
});

test("does nothing for failed tasks, thumbnails or unknown media", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'task_demo_thumb' WHERE id = 1");
  for (const name of ["ittybit_task_failed.json", "ittybit_thumbnail_completed.json", "ittybit_job_succeeded.json", "ittybit_event_succeeded.json"]) {
    const r = run("generate_thumbnail", fixture(name));
    expect(r).toSucceed();
    expect(r.calls("ittybit")).toEqual([]);
    expect(r.calls("db.exec")).toEqual([]);
  }
});

test("fails, so the job retries, when Ittybit answers 500, and records nothing", (t) => {
  t.schema("demo");
  t.stub("ittybit.createJob", () => {
    throw new Error("ittybit: 500 internal_error: try again");
  });
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toFail("500");
  expect(r.error.stack).toContain("generate_thumbnail.js");
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBeNull();
});

test("fails, and records nothing, when Ittybit's answer has no id", (t) => {
  t.schema("demo");
  t.stub("ittybit.createJob", { object: "job", status: "queued" });
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json"))).toFail("answer to POST /jobs has no id");
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBeNull();
});

test("fails when a succeeded video has no output url", (t) => {
  t.schema("demo");
  const task = fixture("ittybit_task_completed.json");
  delete task.output;
  expect(run("generate_thumbnail", task)).toFail(/without an output url/);
});
