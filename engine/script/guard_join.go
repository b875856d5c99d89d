package script

import (
	"errors"
	"math"
	"reflect"
	"strconv"

	"github.com/dop251/goja"
)

// installJoin replaces Array.prototype.join with a Go guard: join is
// common and large (CSV rows, log lines), and a per-element JS loop made
// it ten times slower. It adds up the result, converting each element
// once, and calls goja's join on strings when an element is an object.
func installJoin(r *Runtime, b budget, fail func(string)) error {
	vm := r.vm
	proto := vm.Get("Array").ToObject(vm).Get("prototype").ToObject(vm)
	orig, ok := goja.AssertFunction(proto.Get("join"))
	if !ok {
		return errors.New("Array.prototype.join is not a function")
	}
	join := func(call goja.FunctionCall) goja.Value {
		a := call.This.ToObject(vm)
		n := a.Get("length").ToInteger()
		if n > maxWalk {
			fail("Array.prototype.join")
		}
		sep := call.Argument(0)
		if goja.IsUndefined(sep) {
			sep = vm.ToValue(",")
		} else {
			sep = stringOf(vm, sep)
		}
		sepLen := int64(sep.(goja.String).Length())
		total := max(n-1, 0) * sepLen
		if total > b.chars {
			fail("Array.prototype.join")
		}
		var parts []any // the elements as strings, once one is an object
		for i := int64(0); i < n; i++ {
			if i&1023 == 1023 {
				r.checkStop()
			}
			v := a.Get(strconv.FormatInt(i, 10))
			size := atomLength(v)
			if size < 0 && parts == nil {
				parts = make([]any, i, n)
				for j := int64(0); j < i; j++ {
					parts[j] = elementString(vm, a.Get(strconv.FormatInt(j, 10)))
				}
			}
			if parts != nil {
				s := elementString(vm, v)
				parts = append(parts, s)
				size = int64(s.(goja.String).Length())
			}
			if total += size; total > b.chars {
				fail("Array.prototype.join")
			}
		}
		var out goja.Value
		var err error
		if parts == nil {
			out, err = orig(a, sep)
		} else {
			out, err = orig(vm.NewArray(parts...), sep)
		}
		rethrow(err)
		return out
	}
	return defineNative(vm, proto, "join", 1, join)
}

// elementString is an array element as join writes it.
func elementString(vm *goja.Runtime, v goja.Value) goja.Value {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return vm.ToValue("")
	}
	return stringOf(vm, v)
}

// stringOf is ToString(v): a symbol throws a TypeError, as in JS.
func stringOf(vm *goja.Runtime, v goja.Value) goja.Value {
	if _, ok := v.(*goja.Symbol); ok {
		panic(vm.NewTypeError("Cannot convert a Symbol value to a string"))
	}
	s := v.ToString() // a String for objects; primitives may return themselves
	if _, ok := s.(goja.String); ok {
		return s
	}
	return vm.ToValue(s.String())
}

// atomLength is the length of String(v) for a primitive, -1 for an
// object (whose string form only calling it tells) or a symbol.
func atomLength(v goja.Value) int64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	if s, ok := v.(goja.String); ok {
		return int64(s.Length())
	}
	if _, ok := v.(*goja.Object); ok {
		return -1
	}
	if t := v.ExportType(); t != nil {
		switch t.Kind() {
		case reflect.Bool:
			return 5
		case reflect.Int64:
			return int64(len(strconv.FormatInt(v.ToInteger(), 10)))
		case reflect.Float64:
			if f := v.ToFloat(); f == math.Trunc(f) && math.Abs(f) < 1e15 {
				return int64(len(strconv.FormatInt(int64(f), 10)))
			}
			return int64(len(v.String()))
		}
	}
	return -1
}

// defineNative sets obj[name] to fn as a built-in would be: writable,
// configurable, not enumerable, with its name and length.
func defineNative(vm *goja.Runtime, obj *goja.Object, name string, length int, fn func(goja.FunctionCall) goja.Value) error {
	f := vm.ToValue(fn).ToObject(vm)
	if err := f.DefineDataProperty("name", vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
		return err
	}
	if err := f.DefineDataProperty("length", vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
		return err
	}
	return obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}
