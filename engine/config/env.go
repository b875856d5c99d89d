package config

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
)

// varRef matches ${NAME} and ${NAME:-default}. A bare $ is left alone, so
// secrets such as "ab$cd" survive (os.ExpandEnv would corrupt them).
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// lookupFunc finds a variable: the process environment first, then .env.
type lookupFunc func(name string) (string, bool)

// readDotEnv parses KEY=VALUE lines (with optional "export ", quotes and
// # comments). A missing file is not an error.
func readDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	return vars, sc.Err()
}

// expandString replaces ${VAR} references in s. key names the setting.
func expandString(key, s string, lookup lookupFunc) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		if v, ok := lookup(m[1]); ok {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		missing = append(missing, m[1])
		return ref
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: ${%s} is not set (set it in the environment or in .env beside the config)", key, missing[0])
	}
	return out, nil
}

// expandAll walks every string reachable from c and expands ${VAR}
// references in place, naming keys by their TOML tags. It records, in
// c.fromEnv, each key whose value it expanded and the text as written.
func expandAll(c *Config, lookup lookupFunc) error {
	var errs []error
	walkStrings(reflect.ValueOf(c).Elem(), "", func(key string, s string) string {
		out, err := expandString(key, s, lookup)
		if err != nil {
			errs = append(errs, err)
			return s
		}
		if varRef.MatchString(s) {
			c.markFromEnv(key, s)
		}
		return out
	})
	return errors.Join(errs...)
}

func walkStrings(v reflect.Value, key string, fn func(key, s string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(fn(key, v.String()))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			walkStrings(v.Field(i), join(key, tag), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", key, i), fn)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		// Interface values are not addressable: rebuild and set.
		inner := v.Elem()
		switch x := inner.Interface().(type) {
		case string:
			v.Set(reflect.ValueOf(fn(key, x)))
		case []any:
			for i := range x {
				if s, ok := x[i].(string); ok {
					x[i] = fn(fmt.Sprintf("%s[%d]", key, i), s)
				}
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if s, ok := v.MapIndex(k).Interface().(string); ok {
				v.SetMapIndex(k, reflect.ValueOf(fn(join(key, k.String()), s)))
			}
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// val shows the value of key in an error message: quoted as written, or,
// when the value came from the environment, the reference it came from
// (`the value of ${ITTYBIT_API_KEY}`) and never the value itself: a
// secret put in the wrong key must not be printed back.
func (c *Config) val(key, v string) string {
	written, ok := c.fromEnv[key]
	if !ok {
		return fmt.Sprintf("%q", v)
	}
	if m := varRef.FindStringSubmatchIndex(written); m != nil && m[0] == 0 && m[1] == len(written) {
		return "the value of " + written
	}
	return fmt.Sprintf("the value of %q", written)
}

// markFromEnv records that key's value came from the environment, written
// as written ("${VAR}", "/hooks/${VAR}").
func (c *Config) markFromEnv(key, written string) {
	if c.fromEnv == nil {
		c.fromEnv = map[string]string{}
	}
	c.fromEnv[key] = written
}

// FromEnv reports whether key's value ("admin.token", "sources[0].secret")
// came from the environment, and the text that named it
// ("${SWITCHBOARD_ADMIN_TOKEN}"), for saying where a value is without
// showing it.
func (c *Config) FromEnv(key string) (string, bool) {
	w, ok := c.fromEnv[key]
	return w, ok
}
