package script

import "github.com/dop251/goja"

// CompileModule bundles the file at path exactly as Compile does ("switchboard"
// and its subpaths such as "switchboard/test" stay external, errors are
// *CompileError in the original files) but does not require a default
// export. It is for bundles a caller runs in a goja runtime of its own,
// such as script tests; Engine.Run needs a Script from Compile.
func CompileModule(path string) (*Script, error) {
	return compile(path, false)
}

// Program returns the compiled CommonJS bundle, with its source map. It
// may be run by any number of runtimes; it expects the globals module,
// exports and require, and fills module.exports.
func (s *Script) Program() *goja.Program { return s.program }

// Thrown maps an error that goja returned while running a Script's code in
// a caller's runtime (RunProgram, or a call of one of its functions) to
// what Engine.Run would return: *engine.SnoozeError, *engine.CancelError,
// or *Exception with the message and the stack in original file:line:col
// positions. Other errors are returned unchanged.
func Thrown(err error) error {
	if err == nil {
		return nil
	}
	return scriptError(err)
}

// Rejected maps the reason of a rejected promise the way Thrown maps a
// thrown value.
func Rejected(reason goja.Value) error { return rejection(reason) }
