package script

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// errForeignSourceMap refuses a source map that switchboard did not make.
var errForeignSourceMap = errors.New("source maps named by scripts are not read")

// readSource reads one listener module: a regular file of at most
// maxSourceBytes. A device (/dev/zero), a FIFO or a huge file is refused
// before it is read, and reading never goes past the bound.
func readSource(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", displayPath(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSourceBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSourceBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", displayPath(path), maxSourceBytes>>20)
	}
	return data, nil
}

// sourceMapPragmas are the comment openings esbuild (and browsers) take as
// a source-map reference: "//# sourceMappingURL=…" and its variants.
var sourceMapPragmas = []string{"//# sourceMappingURL=", "//@ sourceMappingURL=", "/*# sourceMappingURL=", "/*@ sourceMappingURL="}

// disarmer rewrites the "=" of each pragma as the escape \u003d. esbuild
// then no longer sees a source-map comment, so it never opens the path
// the comment names (which could be /dev/zero or a secret), while the
// same text inside a string, template or RegExp literal keeps its
// value, since \u003d means "=" there. Inside a comment the change is
// invisible.
var disarmer = func() *strings.Replacer {
	pairs := make([]string, 0, 2*len(sourceMapPragmas))
	for _, p := range sourceMapPragmas {
		pairs = append(pairs, p, strings.TrimSuffix(p, "=")+`\u003d`)
	}
	return strings.NewReplacer(pairs...)
}()

// disarmSourceMapComments makes src's source-map comments inert; see
// disarmer. Only lines holding such a comment change, and only after it.
func disarmSourceMapComments(src string) string {
	if !strings.Contains(src, " sourceMappingURL=") {
		return src
	}
	return disarmer.Replace(src)
}
