package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// BenchmarkFlow_ThreeListeners measures one Ittybit webhook through the
// whole router: signed POST → 200 (fsync'd) → update_media_record,
// generate_thumbnail (an API call to a local stand-in) and notify_user
// (a mail file) all done. Reported: ms from sending the request to the
// 200 (ack-ms) and to the last of the three jobs being recorded done.
func BenchmarkFlow_ThreeListeners(b *testing.B) {
	api := newFakeIttybit(b)
	cfg := testConfig(b, api.URL, "")
	app := startApp(b, cfg)
	ctx := context.Background()
	body := fixture(b, "ittybit_task_completed.json")
	var ackTotal, doneTotal time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		task := fmt.Sprintf("task_bench_%d_%d", time.Now().UnixNano(), i)
		b.StopTimer()
		if _, err := app.appDB.SQL().ExecContext(ctx, "INSERT INTO media (user_id, task_id, status) VALUES (1, ?, 'processing')", task); err != nil {
			b.Fatal(err)
		}
		payload := bytes.ReplaceAll(body, []byte("task_demo_video"), []byte(task))
		b.StartTimer()
		start := time.Now()
		code, out := post(b, app, payload, true)
		if code != http.StatusOK {
			b.Fatalf("got %d %v", code, out)
		}
		ackTotal += time.Since(start)
		for {
			_, jobs, err := app.queue.GetEvent(ctx, out["event"])
			if err != nil {
				b.Fatal(err)
			}
			done := 0
			for _, j := range jobs {
				if j.State == engine.JobDone {
					done++
				} else if j.State == engine.JobFailed {
					b.Fatalf("job failed: %+v", j.LastError)
				}
			}
			if done == 3 {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		doneTotal += time.Since(start)
	}
	b.ReportMetric(float64(ackTotal.Microseconds())/1000/float64(b.N), "ack-ms")
	b.ReportMetric(float64(doneTotal.Microseconds())/1000/float64(b.N), "done-ms")
}
