// GenerateThumbnail: once a video is processed, ask Ittybit for a still
// (2 s in, 640 px wide, WebP) exactly as the Laravel guide does, with
// POST /jobs, and remember the job, whose own webhook later brings the
// thumbnail's URL (see update_media_record).
import { db, ittybit, log } from "switchboard";
import { taskOf } from "./lib/ittybit.js";

export default function handle(event) {
  const task = taskOf(event.payload);
  if (!task.succeeded || task.kind !== "video") {
    return;
  }
  const media = db.first("SELECT id, thumbnail_task_id FROM media WHERE task_id = ?", task.id);
  if (!media) {
    return; // not one of ours, or itself a thumbnail
  }
  if (media.thumbnail_task_id) {
    log.info("thumbnail already requested", { media: media.id, thumbnail: media.thumbnail_task_id });
    return;
  }
  if (!task.outputUrl) {
    throw new Error(`task ${task.id} succeeded without an output url`);
  }

  // The idempotency key is derived from this job, so a retry after a
  // failed database write asks for the same Ittybit job, not a second one.
  const thumb = ittybit.createJob({
    input: task.outputUrl,
    kind: "image",
    options: {
      start: 2,
      width: 640,
      format: "webp",
    },
  });
  if (!thumb || !thumb.id) {
    throw new Error(`Ittybit's answer to POST /jobs has no id: ${JSON.stringify(thumb)}`);
  }

  db.exec(
    "UPDATE media SET thumbnail_task_id = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
    thumb.id, media.id,
  );
  log.info("thumbnail requested", { media: media.id, thumbnail: thumb.id });
}
