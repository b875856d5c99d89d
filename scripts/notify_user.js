// NotifyUser: tell the media's owner that their upload is ready.
import { db, mail, log } from "switchboard";
import { taskOf } from "./lib/ittybit.js";

export default function handle(event) {
  const task = taskOf(event.payload);
  if (!task.succeeded) {
    return;
  }
  const row = db.first(
    `SELECT media.id AS media_id, users.name AS name, users.email AS email
       FROM media JOIN users ON users.id = media.user_id
      WHERE media.task_id = ?`,
    task.id,
  );
  if (!row) {
    return; // a thumbnail task, or media we do not know
  }

  const what = task.kind === "video" ? "video" : "file";
  mail.send({
    to: row.email,
    subject: `Your ${what} is ready`,
    text: [
      `Hello ${row.name},`,
      "",
      `Your ${what} (media #${row.media_id}) has finished processing.`,
      task.outputUrl ? `You can find it at ${task.outputUrl}` : "",
      "",
      "— Media",
    ].join("\n"),
  });
  log.info("owner notified", { media: row.media_id });
}
