// GenerateThumbnail: once a video is processed, ask Ittybit for a still
// (2 s in, 640 px wide, WebP) and remember the task, whose own webhook
// later brings the thumbnail's URL (see update_media_record).
import { db, ittybit, log } from "switchboard";
import { taskOf } from "./lib/ittybit.js";

export default function handle(event) {
  const task = taskOf(event.payload);
  if (!task.succeeded || task.kind !== "video") {
    return;
  }
  const media = db.first("SELECT id, thumbnail_task_id FROM media WHERE task_id = ?", task.id);
  if (!media) {
    return; // not one of ours, or itself a thumbnail task
  }
  if (media.thumbnail_task_id) {
    log.info("thumbnail already requested", { media: media.id, task: media.thumbnail_task_id });
    return;
  }
  if (!task.outputUrl) {
    throw new Error(`task ${task.id} succeeded without an output url`);
  }

  // The idempotency key is derived from this job, so a retry after a
  // failed database write asks for the same task, not a second one.
  const thumb = ittybit.createTask({
    url: task.outputUrl,
    kind: "image",
    start: 2,
    width: 640,
    format: "webp",
  });

  db.exec(
    "UPDATE media SET thumbnail_task_id = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
    thumb.id, media.id,
  );
  log.info("thumbnail requested", { media: media.id, task: thumb.id });
}
