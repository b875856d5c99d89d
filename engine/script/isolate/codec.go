package isolate

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
)

// Values cross the pipes in a small binary form: one tag byte, then the
// value. Strings and byte slices are length-prefixed and never escaped,
// so a frame is about as large as the values it carries, and decoding
// is a single pass without a parser to confuse.
const (
	tagUndefined = 'u'
	tagNull      = 'n'
	tagTrue      = 't'
	tagFalse     = 'f'
	tagInt       = 'i' // zigzag varint
	tagFloat     = 'd' // 8 bytes, IEEE 754, big-endian
	tagString    = 's' // uvarint length, bytes
	tagBytes     = 'b' // uvarint length, bytes
	tagArray     = 'a' // uvarint count, values
	tagObject    = 'o' // uvarint count, (uvarint length, key bytes, value)…
	tagFunc      = 'F' // uvarint handle (0: a function that cannot be called across)
	tagDate      = 'D' // zigzag varint Unix nanoseconds
)

// maxDepth bounds nesting, as JSON.parse and JSON.stringify do in the
// sandbox; it also stops a cyclic value.
const maxDepth = 10000

// undefined stands for JavaScript's undefined where it differs from null:
// a call's arguments and results.
type undefinedType struct{}

var undefined = undefinedType{}

// errTooLarge: a value's decoded form would pass the codec's limit.
var errTooLarge = errors.New("too large")

// Decoded sizes are estimated per node, in bytes of Go memory, so that
// both ends agree on what a limit allows: the child refuses to send what
// the parent would refuse to decode.
const (
	costScalar = 16
	costString = 32
	costArray  = 40
	costElem   = 16
	costObject = 64
	costEntry  = 48
)

// encoder appends values to buf, counting their decoded cost.
type encoder struct {
	buf   []byte
	cost  int64
	limit int64 // 0: none
	// fn returns the handle for a function value (0: not callable).
	fn func(v any) uint64
}

func (e *encoder) charge(n int64) error {
	e.cost += n
	if e.limit > 0 && e.cost > e.limit {
		return errTooLarge
	}
	return nil
}

func (e *encoder) uvarint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *encoder) str(tag byte, s string) error {
	if err := e.charge(costString + int64(len(s))); err != nil {
		return err
	}
	e.buf = append(e.buf, tag)
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
	return nil
}

// value encodes v: Go values as host bindings return them and as goja
// exports JavaScript values.
func (e *encoder) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d (or cyclic)", maxDepth)
	}
	if err := e.charge(costScalar); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNull)
	case undefinedType:
		e.buf = append(e.buf, tagUndefined)
	case bool:
		if x {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case handle:
		e.buf = append(e.buf, tagFunc)
		e.uvarint(uint64(x))
	case int64:
		e.int(x)
	case int:
		e.int(int64(x))
	case float64:
		e.float(x)
	case string:
		return e.str(tagString, x)
	case []byte:
		return e.str(tagBytes, string(x))
	case time.Time:
		e.buf = append(e.buf, tagDate)
		e.buf = binary.AppendVarint(e.buf, x.UnixNano())
	case []any:
		return e.array(len(x), func(i int) any { return x[i] }, depth)
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		if err := e.charge(costObject + costEntry*int64(len(x))); err != nil {
			return err
		}
		e.buf = append(e.buf, tagObject)
		e.uvarint(uint64(len(x)))
		for k, item := range x {
			if err := e.key(k); err != nil {
				return err
			}
			if err := e.value(item, depth+1); err != nil {
				return err
			}
		}
	default:
		return e.reflect(reflect.ValueOf(v), depth)
	}
	return nil
}

func (e *encoder) int(n int64) {
	e.buf = append(e.buf, tagInt)
	e.buf = binary.AppendVarint(e.buf, n)
}

func (e *encoder) float(f float64) {
	e.buf = append(e.buf, tagFloat)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

func (e *encoder) key(k string) error {
	if err := e.charge(int64(len(k))); err != nil {
		return err
	}
	e.uvarint(uint64(len(k)))
	e.buf = append(e.buf, k...)
	return nil
}

func (e *encoder) array(n int, at func(int) any, depth int) error {
	if err := e.charge(costArray + costElem*int64(n)); err != nil {
		return err
	}
	e.buf = append(e.buf, tagArray)
	e.uvarint(uint64(n))
	for i := range n {
		if err := e.value(at(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// reflect encodes the less common Go types by kind: other integer and
// float widths, typed slices and maps, pointers, functions; structs and
// anything else as encoding/json would show them.
func (e *encoder) reflect(rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			e.int(int64(u))
		} else {
			e.float(float64(u))
		}
	case reflect.Float32, reflect.Float64:
		e.float(rv.Float())
	case reflect.String:
		return e.str(tagString, rv.String())
	case reflect.Bool:
		return e.value(rv.Bool(), depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		return e.array(rv.Len(), func(i int) any { return rv.Index(i).Interface() }, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return e.viaJSON(rv, depth)
		}
		if rv.IsNil() {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return e.value(m, depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		if rv.Kind() == reflect.Pointer && rv.Elem().Kind() != reflect.Struct {
			return e.value(rv.Elem().Interface(), depth+1)
		}
		return e.viaJSON(rv, depth)
	case reflect.Func:
		var h uint64
		if e.fn != nil && !rv.IsNil() {
			h = e.fn(rv.Interface())
		}
		e.buf = append(e.buf, tagFunc)
		e.uvarint(h)
	default:
		return e.viaJSON(rv, depth)
	}
	return nil
}

// viaJSON encodes what encoding/json makes of v (structs, maps with
// other keys); a value it cannot marshal becomes null.
func (e *encoder) viaJSON(rv reflect.Value, depth int) error {
	b, err := json.Marshal(rv.Interface())
	if err != nil {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	return e.value(v, depth+1)
}
