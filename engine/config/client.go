package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// Client is what a command that talks to the running server needs from
// the config: where the admin API listens and how to authenticate.
type Client struct {
	// Path is the config file's absolute path.
	Path string
	// AdminListen is admin.listen ("" means the admin API is off), after
	// SWITCHBOARD_ADMIN_LISTEN.
	AdminListen string
	// Token is admin.token; when empty the server wrote a random one to
	// TokenFile. TokenErr is why admin.token could not be read (its
	// ${VAR} is unset): it matters only to a command given no token
	// otherwise.
	Token     Secret
	TokenErr  error
	TokenFile string
}

// LoadClient reads only the [admin] and [storage] sections of the config
// file at path, expanding ${VAR} in those alone (environment, then .env).
// Everything else in the file is left unread: an unset variable, a bad
// value or a missing script elsewhere does not stop the admin commands,
// which an operator needs exactly when the rest is broken. A file that is
// not TOML at all is still an error.
func LoadClient(path string) (*Client, error) {
	abs, data, lookup, err := readFile(path)
	if err != nil {
		return nil, err
	}
	def := Default()
	part := struct {
		Admin   Admin   `toml:"admin"`
		Storage Storage `toml:"storage"`
	}{def.Admin, def.Storage}
	// Unknown keys are fine: they belong to the sections not read here.
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&part); err != nil {
		return nil, decodeError(abs, err)
	}
	c := &Config{Admin: part.Admin, Storage: part.Storage, Path: abs, Dir: filepath.Dir(abs)}
	var errs []error
	for key, field := range map[string]*string{"admin.listen": &c.Admin.Listen, "storage.dir": &c.Storage.Dir} {
		v, err := expandString(key, *field, lookup)
		errs = append(errs, err)
		*field = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(abs), err)
	}
	c.applyListenOverrides(lookup)
	cl := &Client{Path: abs, AdminListen: c.Admin.Listen, TokenFile: c.AdminTokenFile()}
	token, err := expandString("admin.token", c.Admin.Token.Reveal(), lookup)
	if err != nil {
		cl.TokenErr = fmt.Errorf("%s: %w", filepath.Base(abs), err)
	}
	cl.Token = Secret(token)
	return cl, nil
}

// AdminTokenFile is where the server writes the random admin token it
// makes when admin.token is empty: <storage.dir>/admin.token.
func (c *Config) AdminTokenFile() string {
	return filepath.Join(c.Resolve(c.Storage.Dir), "admin.token")
}
