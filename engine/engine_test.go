package engine

import (
	"testing"
	"time"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodePayload([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFilter_Match(t *testing.T) {
	payload := `{"kind":"video","status":"completed","data":{"n":3,"ok":true,"list":[{"x":"y"}]}}`
	tests := []struct {
		name string
		when map[string]any
		want bool
	}{
		{"empty matches", nil, true},
		{"equal", map[string]any{"kind": "video"}, true},
		{"not equal", map[string]any{"kind": "image"}, false},
		{"any of", map[string]any{"status": []any{"succeeded", "completed"}}, true},
		{"all keys must match", map[string]any{"kind": "video", "status": "failed"}, false},
		{"nested number", map[string]any{"data.n": int64(3)}, true},
		{"bool", map[string]any{"data.ok": true}, true},
		{"array index", map[string]any{"data.list.0.x": "y"}, true},
		{"missing field", map[string]any{"data.missing": "*"}, false},
		{"present wildcard", map[string]any{"data.n": "*"}, true},
		{"number vs string", map[string]any{"data.n": "3"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter("when", tt.when)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(decode(t, payload)); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff_After(t *testing.T) {
	steps := Backoff{Steps: []time.Duration{10 * time.Second, time.Minute}}
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: time.Minute, 3: time.Minute, 9: time.Minute} {
		if got := steps.After(n); got != want {
			t.Errorf("After(%d) = %s, want %s (last value repeats)", n, got, want)
		}
	}
	exp := Backoff{Base: time.Second, Max: 10 * time.Second}
	for n, center := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 10 * time.Second} {
		got := exp.After(n)
		if got < center*8/10 || got > center*12/10 {
			t.Errorf("After(%d) = %s, want %s ±20%%", n, got, center)
		}
	}
}

func TestRoutes_Match(t *testing.T) {
	video, _ := NewFilter("when", map[string]any{"kind": "video"})
	r := NewRoutes([]*Listener{
		{Name: "all", On: []string{"*"}, Tries: 1},
		{Name: "videos", On: []string{"media.processed"}, When: video, Tries: 3, Delay: time.Minute},
		{Name: "other", On: []string{"user.created"}, Tries: 1},
	})
	now := time.Unix(1000, 0)
	jobs := r.Match("media.processed", decode(t, `{"kind":"video"}`), now)
	if len(jobs) != 2 || jobs[0].Listener != "all" || jobs[1].Listener != "videos" {
		t.Fatalf("jobs = %+v", jobs)
	}
	if jobs[1].MaxTries != 3 || !jobs[1].RunAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("videos job = %+v, want 3 tries and the delay applied", jobs[1])
	}
	if got := r.Match("media.processed", decode(t, `{"kind":"image"}`), now); len(got) != 1 {
		t.Fatalf("filter did not exclude: %+v", got)
	}
}

// FuzzFilter: any payload against any filter is a clean true/false.
func FuzzFilter(f *testing.F) {
	f.Add(`{"a":{"b":[1,2]}}`, "a.b.1", "2")
	f.Add(`[1,"x",null]`, "0", "x")
	f.Add(`{"":{}}`, "..", "*")
	f.Fuzz(func(t *testing.T, payload, path, want string) {
		v, err := DecodePayload([]byte(payload))
		if err != nil {
			return
		}
		flt, err := NewFilter("when", map[string]any{path: want})
		if err != nil {
			return
		}
		_ = flt.Match(v)
	})
}

// BenchmarkRoutes_Match: routing one event against 50 listeners, ten of
// which have a `when` filter.
func BenchmarkRoutes_Match(b *testing.B) {
	var ls []*Listener
	for i := range 50 {
		l := &Listener{Name: "l" + string(rune('a'+i%26)) + string(rune('a'+i/26)), On: []string{"media.processed"}, Tries: 3}
		if i%5 == 0 {
			l.When, _ = NewFilter("when", map[string]any{"data.kind": []any{"video", "audio"}, "data.status": "succeeded"})
		}
		ls = append(ls, l)
	}
	r := NewRoutes(ls)
	payload := decode(b, `{"object":"event","kind":"task.succeeded","data":{"kind":"video","status":"succeeded"}}`)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if len(r.Match("media.processed", payload, now)) != 50 {
			b.Fatal("wrong match")
		}
	}
}
