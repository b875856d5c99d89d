export interface Task {
  id: string;
  status: "completed" | "failed";
}

export function parseTask(payload: unknown): Task {
  const p = payload as Partial<Task>;
  if (p.status !== "completed") {
    throw new Error(`task ${p.id} is ${p.status}`);
  }
  return { id: p.id ?? "", status: p.status };
}
