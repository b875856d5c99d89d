package engine

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestClassify_Kinds: the kind each failure is recorded with.
func TestClassify_Kinds(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		ctx  error
		want ErrorKind
	}{
		{"threw", fmt.Errorf("Error: boom"), nil, KindError},
		{"memory", fmt.Errorf("listener stopped: %w", ErrMemoryLimit), nil, KindMemory},
		{"crashed", fmt.Errorf("script process died: %w", ErrCrashed), nil, KindCrash},
		{"timeout", fmt.Errorf("listener timed out: %w", context.DeadlineExceeded), context.DeadlineExceeded, KindTimeout},
		{"cancel", &CancelError{Reason: "gone"}, nil, KindCancel},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := Classify(c.err, c.ctx, time.Second, false)
			if e.Outcome == Succeeded || e.Err == nil || e.Err.Kind != c.want {
				t.Fatalf("Classify(%v) = %+v, want kind %s", c.err, e, c.want)
			}
		})
	}
}
