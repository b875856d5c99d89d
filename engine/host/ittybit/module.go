package ittybit

import (
	"fmt"

	"github.com/switchboard/switchboard/engine"
)

// Name is the export name, "ittybit".
func (c *Client) Name() string { return "ittybit" }

// Exports returns createTask(params, opts?) and getTask(id). createTask's
// Idempotency-Key defaults to IdempotencyKey(job), the same on every
// attempt of one job; opts.idempotencyKey overrides it. A non-2xx answer
// throws, so the job is retried. In a dry run createTask is recorded and
// answered with a fake pending task; getTask still reads.
func (c *Client) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"createTask": func(params map[string]any, opts map[string]any) (map[string]any, error) {
			inv := cur()
			if params == nil {
				return nil, fmt.Errorf("ittybit.createTask: params must be an object")
			}
			key, _ := opts["idempotencyKey"].(string)
			if key == "" && inv.Job != nil {
				key = IdempotencyKey(inv.Job)
			}
			if inv.Recorder != nil {
				inv.Recorder.Record("ittybit", "createTask", params, map[string]any{"idempotencyKey": key})
				return map[string]any{"id": "task_dry_run", "object": "task", "status": "pending", "dryRun": true}, nil
			}
			return c.CreateTask(inv.Ctx, params, key)
		},
		"getTask": func(id string) (map[string]any, error) {
			return c.GetTask(cur().Ctx, id)
		},
	}
}

// IdempotencyKey is "switchboard-<job id>": stable across retries of one
// job, different for every job.
func IdempotencyKey(job *engine.Job) string {
	return fmt.Sprintf("switchboard-%s", job.ID)
}
