package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Filter is a listener's `when` table: each key is a dot path into the
// payload ("data.status", "output.0.kind"), each value the allowed values.
// Every key must match (AND); a key matches when the field equals any of
// its values (OR). A value of "*" only requires the field to be present.
// An empty Filter matches everything.
type Filter map[string][]any

// Match reports whether payload (decoded JSON) satisfies every clause.
func (f Filter) Match(payload any) bool {
	for path, allowed := range f {
		got, ok := Lookup(payload, path)
		if !ok || !anyEqual(got, allowed) {
			return false
		}
	}
	return true
}

// Lookup follows a dot path through decoded JSON objects and arrays.
func Lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, part := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[part]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ScalarText is the text of a decoded JSON value for ordering keys and
// payload search: a string as it is, anything else as its compact JSON.
func ScalarText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func anyEqual(got any, allowed []any) bool {
	for _, want := range allowed {
		if s, ok := want.(string); ok && s == "*" {
			return true
		}
		if scalarEqual(got, want) {
			return true
		}
	}
	return false
}

// scalarEqual compares a decoded JSON value with a config value. Numbers
// compare by value whatever their Go type (TOML gives int64, JSON float64
// or json.Number); everything else compares by its JSON text.
func scalarEqual(got, want any) bool {
	if gf, ok := number(got); ok {
		wf, ok := number(want)
		return ok && gf == wf
	}
	switch g := got.(type) {
	case string:
		w, ok := want.(string)
		return ok && g == w
	case bool:
		w, ok := want.(bool)
		return ok && g == w
	case nil:
		return want == nil
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// NewFilter checks a `when` table from config: values must be scalars or
// lists of scalars. key names the table in error messages.
func NewFilter(key string, raw map[string]any) (Filter, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	f := make(Filter, len(raw))
	for path, v := range raw {
		if path == "" || strings.Contains(path, "..") {
			return nil, fmt.Errorf("%s: %q is not a payload path", key, path)
		}
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		for _, item := range list {
			switch item.(type) {
			case string, bool, int64, float64, int:
			default:
				return nil, fmt.Errorf("%s.%s: %v (%T) is not a string, number or boolean", key, path, item, item)
			}
		}
		f[path] = list
	}
	return f, nil
}

// PayloadFieldIs reports whether the JSON payload holds, at dot path
// field, a value whose ScalarText is value. An undecodable payload holds
// nothing.
func PayloadFieldIs(payload []byte, field, value string) bool {
	v, err := decodeStored(payload)
	if err != nil {
		return false
	}
	got, ok := Lookup(v, field)
	return ok && got != nil && ScalarText(got) == value
}
