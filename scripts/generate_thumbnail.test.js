// Tests for generate_thumbnail. The Ittybit API is never called in tests:
// ittybit.createTask is recorded and answers a fake pending task unless a
// test stubs it.
import { test, run, fixture, expect } from "switchboard/test";

test("asks Ittybit for a thumbnail of a finished video and remembers the task", (t) => {
  t.schema("demo");
  t.stub("ittybit.createTask", { id: "task_thumb_1", object: "task", status: "pending" });
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  const created = r.calls("ittybit.createTask");
  expect(created).toHaveLength(1);
  expect(created[0].args[0]).toEqual({
    url: "https://cdn.ittybit.com/demo/video.mp4",
    kind: "image",
    start: 2,
    width: 640,
    format: "webp",
  });
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBe("task_thumb_1");
});

test("works on the event envelope (task.succeeded) too", (t) => {
  t.schema("demo");
  t.exec("INSERT INTO media (id, user_id, task_id, status) VALUES (2, 1, 'task_demo_video_2', 'processing')");
  const r = run("generate_thumbnail", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(r.calls("ittybit.createTask")[0].args[0].url).toBe("https://cdn.ittybit.com/demo/video-2.mp4");
  // Unstubbed, the dry-run binding answers a fake pending task.
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 2").thumbnail_task_id).toBe("task_dry_run");
});

test("is idempotent: a thumbnail already requested is not requested again", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'task_thumb_earlier' WHERE id = 1");
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  expect(r.calls("ittybit")).toHaveLength(0);
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBe("task_thumb_earlier");
});

test("a second delivery of the same webhook makes no second request", (t) => {
  t.schema("demo");
  t.stub("ittybit.createTask", { id: "task_thumb_1" });
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json")).calls("ittybit.createTask")).toHaveLength(1);
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json")).calls("ittybit.createTask")).toHaveLength(0);
});

test("does nothing for failed tasks, thumbnails or unknown media", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'task_demo_thumb' WHERE id = 1");
  for (const name of ["ittybit_task_failed.json", "ittybit_thumbnail_completed.json", "ittybit_event_succeeded.json"]) {
    const r = run("generate_thumbnail", fixture(name));
    expect(r).toSucceed();
    expect(r.calls("ittybit")).toEqual([]);
    expect(r.calls("db.exec")).toEqual([]);
  }
});

test("fails, so the job retries, when Ittybit answers 500, and records nothing", (t) => {
  t.schema("demo");
  t.stub("ittybit.createTask", () => {
    throw new Error("ittybit: 500 internal_error: try again");
  });
  const r = run("generate_thumbnail", fixture("ittybit_task_completed.json"));
  expect(r).toFail("500");
  expect(r.error.stack).toContain("generate_thumbnail.js");
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBeNull();
});

test("fails when a succeeded video has no output url", (t) => {
  t.schema("demo");
  const task = fixture("ittybit_task_completed.json");
  delete task.output;
  expect(run("generate_thumbnail", task)).toFail(/without an output url/);
});
