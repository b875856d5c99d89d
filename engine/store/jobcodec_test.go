package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestJobCodec_RoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC)
	tests := []struct {
		name string
		job  engine.Job
	}{
		{"pending", engine.Job{ID: "job_1", EventID: "evt_1", Listener: "a", State: engine.JobPending,
			MaxTries: 3, RunAt: at, CreatedAt: at, UpdatedAt: at}},
		{"running", engine.Job{ID: "job_2", EventID: "evt_1", Listener: "ünïcode", State: engine.JobRunning,
			Attempt: 2, MaxTries: 3, Crashes: 1, RunAt: at, LeaseUntil: at.Add(time.Minute), CreatedAt: at, UpdatedAt: at}},
		{"failed with error", engine.Job{ID: "job_3", EventID: "evt_2", Listener: "b", State: engine.JobFailed,
			Attempt: 3, MaxTries: 3, RunAt: at, CreatedAt: at, UpdatedAt: at,
			LastError: &engine.JobError{Attempt: 3, At: at, Kind: "error", Message: "boom \x00 \"q\"", Stack: "at x.js:1"}}},
		{"done, zero times", engine.Job{ID: "job_4", Listener: "c", State: engine.JobDone, MaxTries: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeJob(&tt.job)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeJob(tt.job.ID, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.job) {
				t.Errorf("decoded\n%+v\nwant\n%+v", *got, tt.job)
			}
		})
	}
}

func TestJobCodec_LegacyJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	want := engine.Job{ID: "job_1", EventID: "evt_1", Listener: "a", State: engine.JobPending,
		MaxTries: 3, RunAt: at, CreatedAt: at, UpdatedAt: at}
	data, _ := json.Marshal(want)
	got, err := decodeJob("job_1", data)
	if err != nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("decodeJob(JSON) = %+v, %v", got, err)
	}
}

func TestJobCodec_Corrupt(t *testing.T) {
	good, _ := encodeJob(&engine.Job{ID: "j", EventID: "evt_1", Listener: "a", State: engine.JobPending, MaxTries: 1})
	tests := map[string][]byte{
		"empty":         nil,
		"unknown state": {jobFormat1, 9},
		"truncated":     good[:len(good)-2],
		"bad version":   append([]byte{7}, good[1:]...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeJob("j", data); !errors.Is(err, errCorruptJob) {
				t.Errorf("decodeJob = %v, want errCorruptJob", err)
			}
		})
	}
}

func FuzzDecodeJob(f *testing.F) {
	good, _ := encodeJob(&engine.Job{ID: "j", EventID: "evt_1", Listener: "a", State: engine.JobRunning, Attempt: 1, MaxTries: 2,
		LastError: &engine.JobError{Kind: "error", Message: "x"}})
	f.Add(good)
	f.Add([]byte(`{"id":"j"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := decodeJob("j", data)
		if err != nil || data[0] == '{' {
			return // legacy JSON records are only read, never written
		}
		again, err := encodeJob(j)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", j, err)
		}
		if _, err := decodeJob("j", again); err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
	})
}
