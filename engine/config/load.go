package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// Load reads the config file at path over Default(), expands ${VAR}
// references (environment first, then .env beside the file) and validates
// the result. Errors name the file, line and key at fault.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	dotenv, err := readDotEnv(filepath.Join(filepath.Dir(abs), ".env"))
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	lookup := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := dotenv[name]
		return v, ok
	}
	return Parse(abs, data, lookup)
}

// Parse decodes data (the file at path) with lookup resolving ${VAR}.
func Parse(path string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	c := Default()
	// The default backoff list is replaced, not merged, when the file sets one.
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, decodeError(path, err)
	}
	c.Path, c.Dir = path, filepath.Dir(path)
	if err := expandAll(&c, lookup); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &c, nil
}

// decodeError turns go-toml's errors into "file:line:col: key: problem".
func decodeError(path string, err error) error {
	name := filepath.Base(path)
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			row, col := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d:%d: unknown key %s", name, row, col, keyString(e.Key())))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		if k := keyString(de.Key()); k != "" {
			return fmt.Errorf("%s:%d:%d: %s: %s", name, row, col, k, de.Error())
		}
		return fmt.Errorf("%s:%d:%d: %s", name, row, col, de.Error())
	}
	return fmt.Errorf("%s: %w", name, err)
}

func keyString(k toml.Key) string {
	s := ""
	for _, part := range k {
		s = join(s, part)
	}
	return s
}
