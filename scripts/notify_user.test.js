// Tests for notify_user: `switchboard test` runs them. Each test starts
// with an empty SQLite database; t.schema("demo") adds the example app's
// tables with Ada (user 1) and her video (media 1, task_demo_video).
import { test, run, fixture, expect } from "switchboard/test";

test("mails the owner when the video is ready (legacy task webhook)", (t) => {
  t.schema("demo");
  const r = run("notify_user", fixture("ittybit_task_completed.json"));
  expect(r).toSucceed();
  const sent = r.calls("mail.send");
  expect(sent).toHaveLength(1);
  const msg = sent[0].args[0];
  expect(msg.to).toBe("ada@example.com");
  expect(msg.subject).toBe("Your video is ready");
  expect(msg.text).toContain("Hello Ada Lovelace,");
  expect(msg.text).toContain("media #1");
  expect(msg.text).toContain("https://cdn.ittybit.com/demo/video.mp4");
});

test("mails the owner for the current event envelope (task.succeeded)", (t) => {
  t.schema("demo");
  t.exec("INSERT INTO media (id, user_id, task_id, status) VALUES (2, 1, 'task_demo_video_2', 'processing')");
  const r = run("notify_user", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(r.calls("mail.send")).toHaveLength(1);
  expect(r.calls("mail.send")[0].args[0]).toMatchObject({
    to: "ada@example.com",
    subject: "Your video is ready",
  });
  expect(r.calls("mail.send")[0].args[0].text).toContain("media #2");
});

test("says file rather than video for other kinds of media", (t) => {
  t.schema("demo");
  const task = fixture("ittybit_task_completed.json");
  task.kind = "audio";
  const r = run("notify_user", task);
  expect(r).toSucceed();
  expect(r.calls("mail.send")[0].args[0].subject).toBe("Your file is ready");
});

test("does not mail when the task failed", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET task_id = 'task_demo_broken' WHERE id = 1");
  const r = run("notify_user", fixture("ittybit_task_failed.json"));
  expect(r).toSucceed();
  expect(r.calls("mail")).toEqual([]);
});

test("does not mail for a thumbnail task or job", (t) => {
  t.schema("demo");
  t.exec("UPDATE media SET thumbnail_task_id = 'task_demo_thumb' WHERE id = 1");
  const r = run("notify_user", fixture("ittybit_thumbnail_completed.json"));
  expect(r).toSucceed();
  expect(r.calls("mail.send")).toHaveLength(0);
  t.exec("UPDATE media SET thumbnail_task_id = 'job_demo_thumb' WHERE id = 1");
  expect(run("notify_user", fixture("ittybit_job_succeeded.json")).calls("mail.send")).toHaveLength(0);
});

test("mails the owner when a video job (POST /jobs) is ready", (t) => {
  t.schema("demo");
  const job = fixture("ittybit_job_succeeded.json");
  Object.assign(job, { id: "task_demo_video", kind: "video", output: "https://cdn.ittybit.com/demo/video.mp4" });
  const r = run("notify_user", job);
  expect(r).toSucceed();
  expect(r.calls("mail.send")[0].args[0]).toMatchObject({ to: "ada@example.com", subject: "Your video is ready" });
  expect(r.calls("mail.send")[0].args[0].text).toContain("https://cdn.ittybit.com/demo/video.mp4");
});

test("does not mail for media it does not know", (t) => {
  t.schema("demo");
  const r = run("notify_user", fixture("ittybit_event_succeeded.json"));
  expect(r).toSucceed();
  expect(r.calls("mail.send")).toHaveLength(0);
});

test("fails the attempt, so the job retries, when mail cannot be sent", (t) => {
  t.schema("demo");
  t.stub("mail.send", new Error("smtp: 451 try again later"));
  const r = run("notify_user", fixture("ittybit_task_completed.json"));
  expect(r).toFail("451");
});
