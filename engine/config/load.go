package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Load reads the config file at path over Default(), expands ${VAR}
// references (environment first, then .env beside the file), applies the
// SWITCHBOARD_LISTEN and SWITCHBOARD_ADMIN_LISTEN variables, and
// validates the result. Errors name the file, line and key at fault.
func Load(path string) (*Config, error) { return LoadWith(path, Overrides{}) }

// Overrides replace, for this process, what the file and the environment
// say: the serve command's flags. Empty fields change nothing.
type Overrides struct {
	Listen      string // server.listen (serve --listen)
	AdminListen string // admin.listen (serve --admin-listen)
}

// LoadWith is Load with the overrides applied last. Reload keeps them.
func LoadWith(path string, o Overrides) (*Config, error) {
	abs, data, lookup, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parseWith(abs, data, lookup, o)
}

// Reload reads c's file again, as it was first read: with the same
// overrides, the environment and .env as they are now.
func (c *Config) Reload() (*Config, error) { return LoadWith(c.Path, c.overrides) }

// readFile reads the config file and its .env, and returns the file's
// absolute path, its bytes and the variable lookup.
func readFile(path string) (string, []byte, lookupFunc, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return "", nil, nil, fmt.Errorf("load config: %w", err)
	}
	dotenv, err := readDotEnv(filepath.Join(filepath.Dir(abs), ".env"))
	if err != nil {
		return "", nil, nil, fmt.Errorf("load config: %w", err)
	}
	lookup := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := dotenv[name]
		return v, ok
	}
	return abs, data, lookup, nil
}

// Parse decodes data (the file at path) with lookup resolving ${VAR}.
func Parse(path string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	return parseWith(path, data, lookup, Overrides{})
}

func parseWith(path string, data []byte, lookup lookupFunc, o Overrides) (*Config, error) {
	c := Default()
	// The default backoff list is replaced, not merged, when the file sets one.
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, decodeError(path, err)
	}
	c.Path, c.Dir, c.overrides = path, filepath.Dir(path), o
	if err := expandAll(&c, lookup); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	c.applyListenOverrides(lookup)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return &c, nil
}

// ListenEnv and AdminListenEnv name the variables that replace
// server.listen and admin.listen (a serve flag replaces both).
const (
	ListenEnv      = "SWITCHBOARD_LISTEN"
	AdminListenEnv = "SWITCHBOARD_ADMIN_LISTEN"
)

// applyListenOverrides sets the listen addresses from the environment
// (when set and not empty), then from the overrides.
func (c *Config) applyListenOverrides(lookup lookupFunc) {
	set := func(key string, field *string, env, flag string) {
		if v, ok := lookup(env); ok && strings.TrimSpace(v) != "" {
			*field = strings.TrimSpace(v)
			c.markFromEnv(key, "${"+env+"}")
		}
		if flag != "" {
			*field = flag
			delete(c.fromEnv, key)
		}
	}
	set("server.listen", &c.Server.Listen, ListenEnv, c.overrides.Listen)
	set("admin.listen", &c.Admin.Listen, AdminListenEnv, c.overrides.AdminListen)
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
