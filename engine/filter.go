package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Filter is a listener's `when` table: each key is a dot path into the
// payload ("data.status", "output.0.kind"), each value the allowed values.
// Every key must match (AND); a key matches when the field equals any of
// its values (OR). A value of "*" only requires the field to be present.
// An empty Filter matches everything.
type Filter map[string][]any

// Match reports whether payload, as DecodePayload returns it, satisfies
// every clause.
func (f Filter) Match(payload any) bool {
	for path, allowed := range f {
		got, ok := Lookup(payload, path)
		if !ok || !anyEqual(got, allowed) {
			return false
		}
	}
	return true
}

// ValidPath reports whether p is a dot path into a payload, as Lookup
// follows one ("data.id", "output.0.kind"): non-empty parts, no space
// around them, separated by single dots.
func ValidPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" || strings.TrimSpace(part) != part {
			return false
		}
	}
	return p != ""
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

// scalarEqual compares a payload value (DecodePayload's json.Number for
// numbers) with a filter value (NewFilter made its numbers json.Number
// too). Numbers compare by value, everything else by kind and value.
func scalarEqual(got, want any) bool {
	switch g := got.(type) {
	case json.Number:
		w, ok := want.(json.Number)
		return ok && numberEqual(g, w)
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

// numberEqual compares two numbers' values: exactly when both are
// integers that fit an int64 ("9007199254740993" is not
// "9007199254740992", though their float64s are equal), else as the
// float64s a script sees ("1.0" equals "1", "1e2" equals "100").
func numberEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	ai, aerr := strconv.ParseInt(string(a), 10, 64)
	bi, berr := strconv.ParseInt(string(b), 10, 64)
	if aerr == nil && berr == nil {
		return ai == bi
	}
	af, aerr := strconv.ParseFloat(string(a), 64)
	bf, berr := strconv.ParseFloat(string(b), 64)
	return aerr == nil && berr == nil && af == bf
}

// NewFilter checks a `when` table from config: values must be scalars or
// lists of scalars. key names the table in error messages.
func NewFilter(key string, raw map[string]any) (Filter, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	f := make(Filter, len(raw))
	for path, v := range raw {
		if !ValidPath(path) {
			return nil, fmt.Errorf("%s: %q is not a payload path", key, path)
		}
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		values := make([]any, len(list))
		for i, item := range list {
			v, err := filterValue(item)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", key, path, err)
			}
			values[i] = v
		}
		f[path] = values
	}
	return f, nil
}

// PayloadFieldIs reports whether the JSON payload holds, at dot path
// field, a scalar (string, number or boolean) whose ScalarText is value.
// Objects, arrays and null match nothing; neither does an undecodable
// payload.
func PayloadFieldIs(payload []byte, field, value string) bool {
	v, err := DecodePayload(payload)
	if err != nil {
		return false
	}
	got, ok := Lookup(v, field)
	if !ok {
		return false
	}
	switch got.(type) {
	case string, json.Number, bool: // what DecodePayload gives scalars as
		return ScalarText(got) == value
	}
	return false
}

// filterValue checks one `when` value from config and gives numbers the
// payload's form, json.Number, so Match compares like with like.
func filterValue(item any) (any, error) {
	switch v := item.(type) {
	case string, bool:
		return v, nil
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), nil
	case int:
		return json.Number(strconv.Itoa(v)), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%v is not a finite number", v)
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), nil
	}
	return nil, fmt.Errorf("%v (%T) is not a string, number or boolean", item, item)
}
