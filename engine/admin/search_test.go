package admin

import (
	"strings"
	"testing"
)

func TestParseSearch(t *testing.T) {
	cases := []struct {
		q    string
		want Search
	}{
		{"", Search{}},
		{"evt_01HX", Search{Word: "evt_01HX"}},
		{"id = evt_1", Search{ID: "evt_1"}},
		{"delivery=abc-123", Search{DeliveryID: "abc-123"}},
		{"source = ittybit", Search{Source: "ittybit"}},
		{"data.id = task_01", Search{Field: "data.id", Value: "task_01"}},
		{"data.id =task_01", Search{Field: "data.id", Value: "task_01"}},
		{"data.id= task_01", Search{Field: "data.id", Value: "task_01"}},
		{`data.title = "a b"`, Search{Field: "data.title", Value: "a b"}},
		{`data.title = ""`, Search{Field: "data.title", Value: ""}},
		{"payload.source = x", Search{Field: "source", Value: "x"}},
		{"source = ittybit and data.id = t1", Search{Source: "ittybit", Field: "data.id", Value: "t1"}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			got, err := ParseSearch(c.q)
			if err != nil || got != c.want {
				t.Fatalf("ParseSearch(%q) = %+v, %v; want %+v", c.q, got, err, c.want)
			}
		})
	}
}

func TestParseSearch_Errors(t *testing.T) {
	cases := map[string]string{
		"a b":             "write key = value terms",
		"data.id =":       "data.id = needs a value",
		`data.id = "open`: "unclosed quote",
		"a.b = 1 c.d = 2": "one payload field per search",
		"data..id = 1":    "is not a payload path",
		"payload. = 1":    "is not a payload path",
	}
	for q, want := range cases {
		t.Run(q, func(t *testing.T) {
			if _, err := ParseSearch(q); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("ParseSearch(%q) error %v, want %q", q, err, want)
			}
		})
	}
}

// FuzzParseSearch: any query parses or fails with an error, never panics,
// and a parsed payload path is never empty.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"evt_1", "data.id = task_01", `a = "b c"`, "source=x and delivery = y", `"`, "= =", "a.b.c=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		s, err := ParseSearch(q)
		if err == nil && s.Value != "" && s.Field == "" {
			t.Fatalf("%q: a value without a field: %+v", q, s)
		}
	})
}
