// Ittybit reports a finished piece of work in three shapes: the legacy
// task object
//   {"id":"task_…","object":"task","kind":"video","status":"completed","output":{…}}
// the event envelope that webhook endpoints receive since late 2025
//   {"id":"evt_…","object":"event","kind":"task.succeeded","data":{task or job},"created_at":…}
// and the job object of a job created with POST /jobs
//   {"id":"job_…","object":"job","kind":"image","status":"succeeded","output":{…} or "https://…","tasks":[…]}
// taskOf returns the task or job any of them names, with its outcome
// spelled out.

const SUCCESS = ["completed", "succeeded"];
const FAILURE = ["failed", "error"];

export function taskOf(payload) {
  let task = payload || {};
  if (task.object === "event") {
    task = task.data || {};
  }
  const output = outputOf(task);
  return {
    id: task.id,
    object: task.object || null,
    kind: task.kind,
    status: task.status,
    succeeded: SUCCESS.includes(task.status),
    failed: FAILURE.includes(task.status),
    outputUrl: output.url || (typeof task.url === "string" ? task.url : null) || null,
    metadata: {
      duration: output.duration ?? null,
      width: output.width ?? null,
      height: output.height ?? null,
      format: output.format ?? null,
    },
    error: task.error || null,
  };
}

// outputOf returns the file a task or job produced as an object with at
// least its url: output may be a file object or a bare URL, and a job
// may leave it out and carry it on its last task that made a file (the
// probe task's output describes the input, not the result).
function outputOf(task) {
  const made = task.object === "job" ? lastTaskOutput(task.tasks) : null;
  if (typeof task.output === "string" && task.output !== "") {
    return made && made.url === task.output ? made : { ...(made || {}), url: task.output };
  }
  if (task.output && typeof task.output === "object") {
    return task.output;
  }
  return made || {};
}

function lastTaskOutput(tasks) {
  if (!Array.isArray(tasks)) {
    return null;
  }
  for (let i = tasks.length - 1; i >= 0; i--) {
    const t = tasks[i];
    if (t && t.kind !== "probe" && t.output && typeof t.output === "object" && t.output.url) {
      return t.output;
    }
  }
  return null;
}
