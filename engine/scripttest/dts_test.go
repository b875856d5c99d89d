package scripttest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/host/emit"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
	"github.com/switchboard/switchboard/engine/host/ittybit"
	"github.com/switchboard/switchboard/engine/host/kv"
	"github.com/switchboard/switchboard/engine/host/mail"
	"github.com/switchboard/switchboard/engine/script"
)

const dtsPath = "../../scripts/switchboard.d.ts"

var exportDecl = regexp.MustCompile(`(?m)^  export (?:const|function|class) (\w+)`)

// declaredExports returns the names `declare module "name" { … }` exports.
func declaredExports(t *testing.T, dts, module string) []string {
	t.Helper()
	start := strings.Index(dts, `declare module "`+module+`" {`)
	if start < 0 {
		t.Fatalf("switchboard.d.ts does not declare module %q", module)
	}
	body := dts[start:]
	if end := strings.Index(body, "\n}\n"); end >= 0 {
		body = body[:end]
	}
	seen := map[string]bool{}
	var names []string
	for _, m := range exportDecl.FindAllStringSubmatch(body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// engineExports returns the keys of require("switchboard") in a runtime
// the engine builds with the modules the app wires.
func engineExports(t *testing.T) []string {
	t.Helper()
	web := hosthttp.New(hosthttp.Options{})
	mailer, err := mail.New(mail.Options{Transport: "log"})
	if err != nil {
		t.Fatal(err)
	}
	modules := []engine.Module{&db.DB{}, web, mailer, ittybit.New(ittybit.Options{}, web.Client()), kv.New(newMemKV()), emit.New(noSubmit{})}
	path := filepath.Join(t.TempDir(), "keys.js")
	src := `export default function () { throw new Error(Object.keys(require("switchboard")).sort().join(",")); }`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := script.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = script.NewEngine(modules, script.Options{}).Run(context.Background(), s, &engine.Invocation{})
	var ex *script.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("want the keys thrown, got %v", err)
	}
	return strings.Split(strings.TrimPrefix(ex.Message, "Error: "), ",")
}

func TestDeclarations_SwitchboardModule(t *testing.T) {
	b, err := os.ReadFile(dtsPath)
	if err != nil {
		t.Fatal(err)
	}
	dts := string(b)
	declared := declaredExports(t, dts, "switchboard")
	got := engineExports(t)
	for _, must := range []string{"db", "http", "mail", "ittybit", "kv", "emit", "log", "snooze", "cancel"} {
		if !contains(got, must) {
			t.Fatalf("the engine's \"switchboard\" exports %v, want %q among them", got, must)
		}
	}
	for _, name := range got {
		if !contains(declared, name) {
			t.Errorf("switchboard.d.ts does not declare %q, which scripts get from \"switchboard\" (declared: %v)", name, declared)
		}
	}
	if !strings.Contains(dts, "declare var console: Console;") {
		t.Error("switchboard.d.ts does not declare console")
	}
}

func TestDeclarations_TestModule(t *testing.T) {
	b, err := os.ReadFile(dtsPath)
	if err != nil {
		t.Fatal(err)
	}
	declared := declaredExports(t, string(b), "switchboard/test")
	vm := goja.New()
	factory, err := vm.RunScript(preludeName, preludeSource)
	if err != nil {
		t.Fatal(err)
	}
	build, _ := goja.AssertFunction(factory)
	api, err := build(goja.Undefined(), vm.NewObject())
	if err != nil {
		t.Fatal(err)
	}
	keys := api.ToObject(vm).Keys()
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(declared, ",") {
		t.Errorf("\"switchboard/test\" exports %v, switchboard.d.ts declares %v", keys, declared)
	}
	// Every binding a stub accepts is in the CallName type.
	cfg := config.Default()
	s, err := newSuite(&cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(s.tmp)
	for name := range s.known {
		if !strings.Contains(string(b), `"`+name+`"`) {
			t.Errorf("CallName in switchboard.d.ts lacks %q", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
