package script

import (
	_ "embed"
	"fmt"

	"github.com/dop251/goja"
)

// maxWalk bounds the length a built-in may walk in one call. goja arrays
// with a huge length are sparse and cost nothing until a built-in such as
// indexOf walks every index in Go, where neither a timeout nor the heap
// watchdog can stop it.
const maxWalk = 1 << 24

// maxDepth bounds the nesting JSON.parse, JSON.stringify and Array
// flat follow: they recurse in Go, and a Go stack past 1 GB is fatal.
const maxDepth = 10000

// What one result element costs on goja's heap, measured with
// runtime.ReadMemStats after a collection (goja v0.0.0-20260917, amd64).
const (
	elementBytes = 16  // one array slot (fill, map, concat, flat)
	pieceBytes   = 32  // one short string in an array (split, Object.values of a string)
	keyBytes     = 48  // one index key made a string (Object.keys of an array)
	propBytes    = 128 // one property or collection entry (Object.assign, new Set)
	entryBytes   = 640 // one [key, value] pair or descriptor (Object.entries)
)

var (
	//go:embed guard.js
	guardHelpers string
	//go:embed guard_text.js
	guardText string
	//go:embed guard_values.js
	guardValues string
)

// guardProgram evaluates to one function, taking the budgets, whose body
// is the three files in order (they share the helpers guard.js defines).
var guardProgram = goja.MustCompile("switchboard:guard", "(function (L) {\n"+guardHelpers+guardText+guardValues+"})", true)

// budget is what one call of a built-in may create.
type budget struct {
	bytes int64 // Options.MaxAllocBytes
	chars int64 // characters of a result string (two bytes each at worst)
	items int64 // elements of a result array
	code  int64 // characters of code compiled at run time (eval, Function, RegExp)
}

func newBudget(maxBytes int64) budget {
	return budget{bytes: maxBytes, chars: maxBytes / 2, items: min(maxBytes/elementBytes, maxWalk), code: max(16<<10, maxBytes/1024)}
}

func (b budget) String() string {
	if b.bytes >= 1<<20 {
		return fmt.Sprintf("%d MiB", b.bytes>>20)
	}
	return fmt.Sprintf("%d KiB", b.bytes>>10)
}

// installGuards wraps the built-ins of r's runtime whose result size an
// argument or repeated references can set (see guard.js, guard_json.go
// and guard_join.go)
// so that one call creates at most maxBytes (see also guard_text.js and
// guard_values.js).
func installGuards(r *Runtime, maxBytes int64) error {
	b := newBudget(maxBytes)
	g, err := installJSON(r, b)
	if err != nil {
		return err
	}
	v, err := r.vm.RunProgram(guardProgram)
	if err != nil {
		return err
	}
	fn, _ := goja.AssertFunction(v)
	_, err = fn(goja.Undefined(), r.vm.ToValue(map[string]any{
		"maxChars": b.chars, "maxItems": b.items, "maxWalk": maxWalk, "maxBytes": b.bytes,
		"maxCode": b.code, "maxDepth": maxDepth, "budget": b.String(),
		"pieceBytes": pieceBytes, "keyBytes": keyBytes, "propBytes": propBytes, "entryBytes": entryBytes,
	}))
	if err != nil {
		return err
	}
	// After guard.js, which keeps goja's own join for strings it built.
	return installJoin(r, b, g.fail)
}
