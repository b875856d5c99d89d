import { log } from "switchboard";
import { parseTask, type Task } from "./lib/task.ts";

interface Job {
  id: string;
  attempt: number;
}

export default function handle(event: { payload: unknown }, job: Job): void {
  const task: Task = parseTask(event.payload);
  log.info("task", { id: task.id, attempt: job.attempt });
}
