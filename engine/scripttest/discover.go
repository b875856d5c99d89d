package scripttest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// testSuffixes are the endings of script test files.
var testSuffixes = []string{".test.js", ".test.ts", ".test.mjs", ".test.mts"}

// IsTestFile reports whether name is a script test file name
// (*.test.js, *.test.ts, *.test.mjs or *.test.mts).
func IsTestFile(name string) bool {
	for _, s := range testSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// Discover returns every script test file below dir, sorted. It skips
// node_modules and hidden directories. A dir that does not exist holds no
// tests and is not an error.
func Discover(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && os.IsNotExist(err) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != dir && (name == "node_modules" || strings.HasPrefix(name, ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if IsTestFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover script tests in %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}
