// Ittybit has sent two webhook shapes: the legacy task object
//   {"id":"task_…","object":"task","kind":"video","status":"completed","output":{…}}
// and, since late 2025, an event envelope
//   {"id":"evt_…","object":"event","kind":"task.succeeded","data":{task},"created_at":…}
// taskOf returns the task either way, with its outcome spelled out.

const SUCCESS = ["completed", "succeeded"];
const FAILURE = ["failed", "error"];

export function taskOf(payload) {
  const task = payload && payload.object === "event" ? payload.data || {} : payload || {};
  const output = task.output || {};
  return {
    id: task.id,
    kind: task.kind,
    status: task.status,
    succeeded: SUCCESS.includes(task.status),
    failed: FAILURE.includes(task.status),
    outputUrl: output.url || task.url || null,
    metadata: {
      duration: output.duration ?? null,
      width: output.width ?? null,
      height: output.height ?? null,
      format: output.format ?? null,
    },
    error: task.error || null,
  };
}
