package scripttest

import (
	"encoding/json"
	"reflect"
	"sort"
	"time"

	"github.com/dop251/goja"
)

// toJS builds v as plain JS values of vm: objects, arrays and scalars
// owned by vm, never Go wrappers and never values of another runtime, so
// test code can compare, mutate and JSON-encode them as usual.
func toJS(vm *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case goja.Value:
		// Values cannot cross runtimes: take the data only.
		return toJS(vm, exportArg(x))
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return vm.ToValue(x)
	case map[string]any:
		o := vm.NewObject()
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, toJS(vm, x[k]))
		}
		return o
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = toJS(vm, e)
		}
		return vm.NewArray(items...)
	case []byte:
		return vm.ToValue(string(x))
	case json.RawMessage:
		return vm.ToValue(string(x))
	case time.Time:
		return vm.ToValue(x.UTC().Format(time.RFC3339Nano))
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Func {
		return vm.ToValue("[Function]")
	}
	// Anything else (typed maps and slices, structs): through JSON.
	b, err := json.Marshal(v)
	if err != nil {
		return vm.ToValue(rv.String())
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return vm.ToValue(string(b))
	}
	return toJS(vm, plain)
}
