// Tests for update_media_record, on the three Ittybit webhook shapes.
import { test, run, fixture, expect } from "switchboard/test";

test("records a completed task on its media row (legacy task webhook)", (t) => {
  t.schema("demo");
  const r = run("update_media_record", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  const media = t.first("SELECT status, output_url, metadata FROM media WHERE id = 1");
  expect(media.status).toBe("completed");
  expect(media.output_url).toBe("https://cdn.ittybit.com/demo/video.mp4");
  expect(JSON.parse(media.metadata)).toEqual({ duration: 42.5, width: 1920, height: 1080, format: "mp4" });
  expect(r.calls("db.exec")).toHaveLength(1);
});

test("records a succeeded task from the event envelope (task.succeeded)", (t) => {
  t.schema("demo");
  t.exec("INSERT INTO media (id, user_id, task_id, status) VALUES (2, 1, 'task_demo_video_2', 'processing')");
  const r = run("update_media_record", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(t.first("SELECT status, output_url FROM media WHERE id = 2")).toEqual({
    status: "completed",
    output_url: "https://cdn.ittybit.com/demo/video-2.mp4",
  });
  expect(t.first("SELECT status FROM media WHERE id = 1").status).toBe("processing");
});

test("marks the media failed when the task failed", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET task_id = 'task_demo_broken' WHERE id = 1");
  const r = run("update_media_record", fixture("ittybit_task_failed.json"));
  expect(r).toSucceed();
  expect(t.first("SELECT status, output_url FROM media WHERE id = 1")).toEqual({ status: "failed", output_url: null });
});

test("copies an in-between status as it is", (t) => {
  t.schema("demo");
  const task = fixture("ittybit_task_completed.json");
  task.status = "processing";
  expect(run("update_media_record", task)).toSucceed();
  expect(t.first("SELECT status FROM media WHERE id = 1").status).toBe("processing");
});

test("the thumbnail's webhook closes the cycle: media gets thumbnail_url", (t) => {
  t.schema("demo");
  t.stub("ittybit.createJob", { id: "job_demo_thumb", object: "job", kind: "image", status: "queued" });
  expect(run("update_media_record", fixture("ittybit_task_completed.json"))).toSucceed();
  expect(run("generate_thumbnail", fixture("ittybit_task_completed.json"))).toSucceed();
  expect(t.first("SELECT thumbnail_task_id FROM media WHERE id = 1").thumbnail_task_id).toBe("job_demo_thumb");

  const r = run("update_media_record", fixture("ittybit_job_succeeded.json"));
  expect(r).toSucceed();
  const media = t.first("SELECT status, output_url, thumbnail_url FROM media WHERE id = 1");
  expect(media).toEqual({
    status: "completed",
    output_url: "https://cdn.ittybit.com/demo/video.mp4",
    thumbnail_url: "https://cdn.ittybit.com/demo/thumb-4.webp",
  });
});

// The thumbnail's own webhook, whichever shape Ittybit sends it in.
const thumbnailShapes = {
  "a job object": () => fixture("ittybit_job_succeeded.json"),
  "a job object, output as a bare URL": () => {
    const job = fixture("ittybit_job_succeeded.json");
    job.output = "https://cdn.ittybit.com/demo/thumb-4.webp";
    return job;
  },
  "a job object, output only on its image task": () => {
    const job = fixture("ittybit_job_succeeded.json");
    delete job.output;
    return job;
  },
  "an event envelope": () => {
    const evt = fixture("ittybit_thumbnail_completed.json");
    evt.data.id = "job_demo_thumb";
    evt.data.output.url = "https://cdn.ittybit.com/demo/thumb-4.webp";
    return evt;
  },
  "a legacy task object": () => {
    const task = fixture("ittybit_thumbnail_completed.json").data;
    task.id = "job_demo_thumb";
    task.status = "completed";
    task.output.url = "https://cdn.ittybit.com/demo/thumb-4.webp";
    return task;
  },
};
for (const [shape, payload] of Object.entries(thumbnailShapes)) {
  test(`a thumbnail's webhook as ${shape} fills thumbnail_url`, (t) => {
    t.schema("demo");
    t.exec("UPDATE media SET status = 'completed', thumbnail_task_id = 'job_demo_thumb' WHERE id = 1");
    const r = run("update_media_record", payload());
    expect(r).toSucceed();
    expect(r.calls("db.exec")).toHaveLength(1);
    expect(t.first("SELECT status, thumbnail_url FROM media WHERE id = 1")).toEqual({
      status: "completed",
      thumbnail_url: "https://cdn.ittybit.com/demo/thumb-4.webp",
    });
  });
}

test("a job's probe task is not taken for its output", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'job_demo_thumb' WHERE id = 1");
  const job = fixture("ittybit_job_succeeded.json");
  delete job.output;
  job.tasks = job.tasks.filter((task) => task.kind === "probe");
  expect(run("update_media_record", job)).toSucceed();
  expect(t.first("SELECT thumbnail_url FROM media WHERE id = 1").thumbnail_url).toBeNull();
});

test("a failed thumbnail task leaves the media row alone", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'task_demo_thumb' WHERE id = 1");
  const thumb = fixture("ittybit_thumbnail_completed.json");
  thumb.data.status = "failed";
  const r = run("update_media_record", thumb);
  expect(r).toSucceed();
  expect(r.calls("db.exec")).toHaveLength(0);
  expect(t.first("SELECT thumbnail_url FROM media WHERE id = 1").thumbnail_url).toBeNull();
});

test("ignores a task for media it does not know", (t) => {
  t.schema("demo");
  const r = run("update_media_record", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(r.calls("db.exec")).toEqual([]);
});

test("fails, so the job retries, on a payload without a task id", (t) => {
  t.schema("demo");
  expect(run("update_media_record", { object: "task", status: "completed" })).toFail("payload has no task id");
});
