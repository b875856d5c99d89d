package script

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/dop251/goja"
)

// jsonGuard replaces JSON.stringify and JSON.parse with wrappers that
// bound what one call creates and how deep it recurses, then call goja's
// own functions, so the output is exactly goja's.
type jsonGuard struct {
	r         *Runtime
	b         budget
	json      *goja.Object
	stringify goja.Callable
	parse     goja.Callable
	rangeErr  *goja.Object
}

var typeMap = reflect.TypeOf(map[string]any(nil))

func installJSON(r *Runtime, b budget) (*jsonGuard, error) {
	vm := r.vm
	g := &jsonGuard{r: r, b: b, json: vm.Get("JSON").ToObject(vm), rangeErr: vm.Get("RangeError").ToObject(vm)}
	var ok bool
	if g.stringify, ok = goja.AssertFunction(g.json.Get("stringify")); !ok {
		return nil, errors.New("JSON.stringify is not a function")
	}
	if g.parse, ok = goja.AssertFunction(g.json.Get("parse")); !ok {
		return nil, errors.New("JSON.parse is not a function")
	}
	if err := defineNative(vm, g.json, "stringify", 3, g.guardStringify); err != nil {
		return nil, err
	}
	if err := defineNative(vm, g.json, "parse", 2, g.guardParse); err != nil {
		return nil, err
	}
	return g, nil
}

// fail throws a RangeError naming what and the budget.
func (g *jsonGuard) fail(what string) {
	e, err := g.r.vm.New(g.rangeErr, g.r.vm.ToValue(fmt.Sprintf("%s would exceed the script memory budget of %s per call", what, g.b)))
	if err != nil {
		panic(err)
	}
	panic(e)
}

// rethrow passes an error from a goja call on as goja expects: a thrown
// value, or an interrupt that must reach the top.
func rethrow(err error) {
	if err != nil {
		panic(err)
	}
}

// guardStringify runs goja's JSON.stringify with a replacer of its own
// (composed with the caller's) that adds up the output as it is written,
// stops past the budget or past maxDepth, and lets the deadline and the
// heap watchdog stop a long call.
func (g *jsonGuard) guardStringify(call goja.FunctionCall) goja.Value {
	m := &jsonMeter{g: g, gap: gapLength(call.Argument(2))}
	if o, ok := call.Argument(1).(*goja.Object); ok {
		if fn, ok := goja.AssertFunction(o); ok {
			m.user = fn
		} else if o.ClassName() == "Array" {
			m.list = propertyList(o)
			m.listed = map[*goja.Object]*goja.Object{}
		}
	}
	v, err := g.stringify(g.json, call.Argument(0), g.r.vm.ToValue(m.visit), call.Argument(2))
	rethrow(err)
	return v
}

// guardParse refuses text whose nesting or parsed size would pass the
// budget (goja parses recursively and builds the whole value), then
// parses it with goja's JSON.parse.
func (g *jsonGuard) guardParse(call goja.FunctionCall) goja.Value {
	text := call.Argument(0).ToString()
	s, _ := text.(goja.String)
	if s != nil && int64(s.Length()) > min(2*maxDepth, g.b.bytes/600) {
		depth, cost := 0, int64(0)
		for i, n := 0, s.Length(); i < n; i++ {
			switch c := s.CharAt(i); c {
			case '"':
				cost += 16
				for i++; i < n; i++ {
					if c := s.CharAt(i); c == '\\' {
						i++
						cost += 2
					} else if c == '"' {
						break
					}
					cost += 2
				}
				cost += 16
			case '[', '{':
				if depth++; depth > maxDepth {
					g.fail(fmt.Sprintf("JSON.parse of text nested deeper than %d", maxDepth))
				}
				if c == '[' {
					cost += 600
				} else {
					cost += 200
				}
			case ']', '}':
				depth--
			case ':':
				cost += 112
			case ',':
				cost += 24
			}
			if cost > g.b.bytes {
				g.fail("JSON.parse")
			}
		}
	}
	v, err := g.parse(g.json, text, call.Argument(1))
	rethrow(err)
	return v
}

// jsonMeter is one JSON.stringify call's replacer: goja calls it once per
// value it is about to write, in output order, with the holder as this.
type jsonMeter struct {
	g      *jsonGuard
	user   goja.Callable
	list   []string                      // an array replacer's property list
	listed map[*goja.Object]*goja.Object // object → its list-ordered view
	gap    int
	total  int64          // bytes written so far
	path   []*goja.Object // holders from the root wrapper down
	calls  int
}

func (m *jsonMeter) visit(call goja.FunctionCall) goja.Value {
	holder, _ := call.This.(*goja.Object)
	key, value := call.Argument(0), call.Argument(1)
	if m.user != nil {
		v, err := m.user(call.This, key, value)
		rethrow(err)
		value = v
	}
	depth := m.enter(holder)
	n, obj := m.size(value)
	// goja writes between these calls: check the deadline and the
	// watchdog every 256 values or 1 MiB of output, whichever is first.
	if m.calls++; m.calls&255 == 0 || m.total>>20 != (m.total+n)>>20 {
		m.g.r.checkStop()
	}
	inArray := holder != nil && holder.ClassName() == "Array"
	if n < 0 && !inArray {
		return value // omitted, key and all
	}
	if n < 0 {
		n = 4 // written as null
	}
	if depth > 0 { // a member: separator, key, line break and indent
		n++
		if ks, ok := key.(goja.String); ok && !inArray {
			n += quotedLength(ks) + 1
		}
		if m.gap > 0 {
			n += 2 + int64(depth*m.gap)
		}
	}
	if m.total += n; m.total > m.g.b.bytes {
		m.g.fail("JSON.stringify")
	}
	if obj == nil {
		return value
	}
	if len(m.path) > maxDepth {
		m.g.fail(fmt.Sprintf("JSON.stringify of a value nested deeper than %d", maxDepth))
	}
	if m.list != nil && obj.ClassName() == "Object" && obj.ExportType() == typeMap {
		obj = m.view(obj)
		value = obj
	}
	m.path = append(m.path, obj)
	return value
}

// enter finds holder on the path (it is the object whose property is
// being written) and drops what lies below it; the first holder is the
// root wrapper goja makes.
func (m *jsonMeter) enter(holder *goja.Object) int {
	for i := len(m.path) - 1; i >= 0; i-- {
		if m.path[i] == holder {
			m.path = m.path[:i+1]
			return i
		}
	}
	m.path = append(m.path[:0], holder)
	return 0
}

// size is how many bytes value adds itself (-1 when it is omitted)
// and, for an array or object goja will descend into, that object.
func (m *jsonMeter) size(v goja.Value) (int64, *goja.Object) {
	switch {
	case v == nil || goja.IsUndefined(v):
		return -1, nil
	case goja.IsNull(v):
		return 4, nil
	}
	if s, ok := v.(goja.String); ok {
		return quotedLength(s), nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if k := v.ExportType(); k != nil {
			switch k.Kind() {
			case reflect.Bool:
				return 5, nil
			case reflect.Int64, reflect.Float64:
				return numberLength(v), nil
			}
		}
		return -1, nil // a symbol; a BigInt makes goja throw
	}
	if _, fn := goja.AssertFunction(o); fn {
		return -1, nil
	}
	switch o.ClassName() {
	case "String":
		s, _ := o.ToString().(goja.String)
		return quotedLength(s), nil
	case "Number":
		return numberLength(o.ToNumber()), nil
	case "Boolean", "BigInt":
		return 5, nil
	case "RawJSON":
		return int64(len(o.Get("rawJSON").String())), nil
	}
	closing := int64(2)
	if m.gap > 0 {
		closing += int64(1 + len(m.path)*m.gap)
	}
	return closing, o
}

// view is obj as an array replacer shows it: the listed keys, in list
// order, read from obj when written. One view per object keeps goja's
// cycle check working.
func (m *jsonMeter) view(obj *goja.Object) *goja.Object {
	if v, ok := m.listed[obj]; ok {
		return v
	}
	v := m.g.r.vm.NewDynamicObject(&listView{obj: obj, keys: m.list})
	m.listed[obj] = v
	return v
}

// listView implements goja.DynamicObject.
type listView struct {
	obj  *goja.Object
	keys []string
}

func (l *listView) Get(key string) goja.Value   { return l.obj.Get(key) }
func (l *listView) Set(string, goja.Value) bool { return false }
func (l *listView) Has(key string) bool         { return l.obj.Get(key) != nil }
func (l *listView) Delete(string) bool          { return false }
func (l *listView) Keys() []string              { return l.keys }

// quotedLength is how many bytes goja writes for s as a JSON string:
// it writes UTF-8, escaping quotes, backslashes and control characters.
func quotedLength(s goja.String) int64 {
	if s == nil {
		return 2
	}
	text := s.String() // no copy for ASCII strings, which are Go strings in goja
	n := int64(2 + len(text))
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

func numberLength(v goja.Value) int64 {
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 4
	}
	return int64(len(v.String()))
}

// gapLength is the indent JSON.stringify uses for space: a number of
// spaces or a string, at most 10.
func gapLength(space goja.Value) int {
	if o, ok := space.(*goja.Object); ok {
		switch o.ClassName() {
		case "Number":
			space = o.ToNumber()
		case "String":
			space = o.ToString()
		}
	}
	if s, ok := space.(goja.String); ok {
		return min(s.Length(), 10)
	}
	if k := space.ExportType(); k != nil && (k.Kind() == reflect.Int64 || k.Kind() == reflect.Float64) {
		return int(min(max(space.ToInteger(), 0), 10))
	}
	return 0
}

// propertyList is an array replacer's keys as goja reads them: strings
// and numbers (or their wrappers), without repeats.
func propertyList(o *goja.Object) []string {
	n := o.Get("length").ToInteger()
	seen := map[string]bool{}
	var out []string
	for i := int64(0); i < n && i < maxWalk; i++ {
		v := o.Get(fmt.Sprint(i))
		switch e := v.(type) {
		case nil:
			continue
		case *goja.Object:
			if c := e.ClassName(); c != "Number" && c != "String" {
				continue
			}
		case goja.String:
		default:
			if k := v.ExportType(); k == nil || (k.Kind() != reflect.Int64 && k.Kind() != reflect.Float64) {
				continue
			}
		}
		if name := v.String(); !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
