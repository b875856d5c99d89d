package ittybit

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/engine"
)

// Name is the export name, "ittybit".
func (c *Client) Name() string { return "ittybit" }

// Exports returns createJob(params, opts?), getJob(id), createTask(params,
// opts?) and getTask(id). The create calls' Idempotency-Key defaults to
// IdempotencyKey(job), the same on every attempt of one job;
// opts.idempotencyKey overrides it. A non-2xx answer throws, so the job is
// retried. Every call runs under the job's context (its deadline). In a
// dry run the create calls are recorded and answered with a fake pending
// object; the get calls still read.
func (c *Client) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"createJob": c.creator(cur, "createJob", CheckJobParams, c.CreateJob,
			map[string]any{"id": "job_dry_run", "object": "job", "status": "queued", "dryRun": true}),
		"getJob": func(id string) (map[string]any, error) {
			return c.GetJob(cur().Ctx, id)
		},
		"createTask": c.creator(cur, "createTask", checkObject, c.CreateTask,
			map[string]any{"id": "task_dry_run", "object": "task", "status": "pending", "dryRun": true}),
		"getTask": func(id string) (map[string]any, error) {
			return c.GetTask(cur().Ctx, id)
		},
	}
}

type createFunc func(ctx context.Context, params map[string]any, idempotencyKey string) (map[string]any, error)

// creator builds a create export: params are checked (also in a dry run,
// so a dry run shows the mistake), the key defaulted, and in a dry run the
// call recorded and answered with a copy of fake.
func (c *Client) creator(cur func() *engine.Invocation, fn string, check func(map[string]any) error, create createFunc, fake map[string]any) func(map[string]any, map[string]any) (map[string]any, error) {
	return func(params map[string]any, opts map[string]any) (map[string]any, error) {
		if err := check(params); err != nil {
			return nil, fmt.Errorf("ittybit.%s: %w", fn, err)
		}
		inv := cur()
		key, _ := opts["idempotencyKey"].(string)
		if key == "" && inv.Job != nil {
			key = IdempotencyKey(inv.Job)
		}
		if inv.Recorder != nil {
			inv.Recorder.Record("ittybit", fn, params, map[string]any{"idempotencyKey": key})
			out := make(map[string]any, len(fake)+1)
			for k, v := range fake {
				out[k] = v
			}
			if kind, ok := params["kind"]; ok {
				out["kind"] = kind
			}
			return out, nil
		}
		return create(inv.Ctx, params, key)
	}
}

func checkObject(params map[string]any) error {
	if params == nil {
		return fmt.Errorf("params must be an object")
	}
	return nil
}

// IdempotencyKey is "switchboard-<job id>": stable across retries of one
// job, different for every job.
func IdempotencyKey(job *engine.Job) string {
	return fmt.Sprintf("switchboard-%s", job.ID)
}
