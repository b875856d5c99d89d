package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"time"

	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/script"
)

// reloadDebounce groups the several events one save makes into one reload.
const reloadDebounce = 100 * time.Millisecond

// watch reloads config and scripts whenever config.toml, .env, or a file
// in a directory holding a listener's script changes.
func (a *App) watch(ctx context.Context) error {
	w, err := script.NewWatcher(a.watchPaths(), reloadDebounce, func(changed []string) { a.Reload(changed) })
	if err != nil {
		return fmt.Errorf("watch config and scripts: %w", err)
	}
	w.Start(ctx)
	a.closers = append(a.closers, func(context.Context) error { return w.Close() })
	return nil
}

// watchPaths: the config file and its .env (watched through their
// directory, not recursively, since the data directory usually lives
// there too) and each directory holding a listener's script, recursively.
func (a *App) watchPaths() []string {
	paths := []string{a.cfg.Path, filepath.Join(a.cfg.Dir, ".env")}
	seen := map[string]bool{}
	for _, l := range a.router.Routes().Listeners {
		dir := filepath.Dir(l.Script)
		if !seen[dir] {
			seen[dir] = true
			paths = append(paths, dir)
		}
	}
	return paths
}

// Reload re-reads config.toml and recompiles the scripts. A config that
// does not validate, or a script that does not compile, is refused: the
// last good version keeps serving and the error is logged and reported
// by /readyz and the admin API. changed is informational.
func (a *App) Reload(changed []string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	start := time.Now()
	err := a.reload()
	st := &admin.ReloadStatus{At: time.Now(), OK: err == nil, Listeners: listenerNames(a.router.Routes())}
	if err != nil {
		st.Error = err.Error()
		a.logger.Error("reload refused; the last good version keeps serving", "err", err, "changed", changed)
	} else {
		st.NeedsRestart = restartKeys(a.cfg, a.pending)
		a.logger.Info("reloaded", "listeners", len(st.Listeners), "took", time.Since(start), "changed", len(changed))
		if len(st.NeedsRestart) > 0 {
			a.logger.Warn("some changed settings take effect only after a restart", "keys", st.NeedsRestart)
		}
	}
	a.metrics.ObserveReload(err == nil)
	a.status.Store(st)
	return err
}

func (a *App) reload() error {
	cfg, err := config.Load(a.cfg.Path)
	if err != nil {
		return err
	}
	routes, err := cfg.Routes()
	if err != nil {
		return err
	}
	set, err := script.Build(routes, a.scripts.Load())
	if err != nil {
		return err
	}
	if err := a.ingest.SetSources(cfg.Sources); err != nil {
		return err
	}
	a.scripts.Store(set)
	a.router.Swap(routes)
	a.pending = cfg
	return nil
}

// restartKeys lists the top-level settings that differ between the
// running config and the reloaded one but are only read at start.
func restartKeys(running, next *config.Config) []string {
	if next == nil {
		return nil
	}
	var keys []string
	pairs := []struct {
		key  string
		a, b any
	}{
		{"server", running.Server, next.Server},
		{"admin", running.Admin, next.Admin},
		{"storage", running.Storage, next.Storage},
		{"queue", running.Queue, next.Queue},
		{"database", running.Database, next.Database},
		{"mail", running.Mail, next.Mail},
		{"http", running.HTTP, next.HTTP},
		{"ittybit", running.Ittybit, next.Ittybit},
		{"log", running.Log, next.Log},
	}
	for _, p := range pairs {
		if !reflect.DeepEqual(p.a, p.b) {
			keys = append(keys, p.key)
		}
	}
	return keys
}

// decodePayload parses a stored payload for routing filters.
func decodePayload(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New("stored payload is not JSON")
	}
	return v, nil
}
