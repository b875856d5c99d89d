// UpdateMediaRecord: write the task's outcome onto the media row it
// belongs to. When the task is a thumbnail that generate_thumbnail asked
// for, record the thumbnail's URL instead: this closes the cycle that the
// Laravel guide leaves open.
import { db, log } from "switchboard";
import { taskOf } from "./lib/ittybit.js";

export default function handle(event) {
  const task = taskOf(event.payload);
  if (!task.id) {
    throw new Error("payload has no task id");
  }

  const media = db.first("SELECT id FROM media WHERE task_id = ?", task.id);
  if (media) {
    if (task.succeeded) {
      db.exec(
        "UPDATE media SET status = ?, output_url = ?, metadata = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
        "completed", task.outputUrl, JSON.stringify(task.metadata), media.id,
      );
    } else if (task.failed) {
      db.exec("UPDATE media SET status = 'failed', updated_at = CURRENT_TIMESTAMP WHERE id = ?", media.id);
    } else {
      db.exec("UPDATE media SET status = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?", task.status, media.id);
    }
    log.info("media updated", { media: media.id, task: task.id, status: task.status });
    return;
  }

  const owner = db.first("SELECT id FROM media WHERE thumbnail_task_id = ?", task.id);
  if (owner) {
    if (task.succeeded) {
      db.exec(
        "UPDATE media SET thumbnail_url = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
        task.outputUrl, owner.id,
      );
      log.info("thumbnail recorded", { media: owner.id, task: task.id });
    } else if (task.failed) {
      log.warn("thumbnail task failed", { media: owner.id, task: task.id });
    }
    return;
  }

  log.warn("no media for task", { task: task.id });
}
