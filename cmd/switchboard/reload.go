package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/script"
	"github.com/switchboard/switchboard/engine/watch"
)

// reloadDebounce groups the several events one save makes into one reload.
const reloadDebounce = 100 * time.Millisecond

// watch reloads config and scripts when config.toml, .env or a file a
// listener depends on changes (see reloadWanted); other files in the
// watched directories (a log, a database) are ignored.
func (a *App) watch(ctx context.Context) error {
	w, err := watch.New(a.watchPaths(), watch.Options{
		Debounce: reloadDebounce,
		Want:     a.reloadWanted,
		OnChange: func(changed []string) { a.Reload(changed) },
	})
	if err != nil {
		return fmt.Errorf("watch config and scripts: %w", err)
	}
	a.reloadMu.Lock()
	a.watcher = w
	a.reloadMu.Unlock()
	w.Start(ctx)
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

// reloadWanted says whether a change to path can change what a reload
// builds: config.toml, .env, a file the compiled scripts were built from
// (also when reached through a symlink), or a listener's script. While
// the last reload was refused, any listener module (.js, .ts, .json, …)
// counts too, since the fix may be a file nothing could import yet. A
// watched directory itself (reported when the watch lost track) and a
// ConfigMap swap (..data) always count. It runs on the watcher's
// goroutine for each changed path, before the debounce.
func (a *App) reloadWanted(path string) bool {
	if path == a.cfg.Path || path == filepath.Join(a.cfg.Dir, ".env") || filepath.Base(path) == "..data" {
		return true
	}
	if st := a.status.Load(); st != nil && !st.OK && script.IsModule(path) {
		return true
	}
	for _, l := range a.router.Routes().Listeners {
		if path == l.Script || path == filepath.Dir(l.Script) {
			return true
		}
	}
	set := a.scripts.Load()
	if set.HasInput(path) {
		return true
	}
	// A listener module reached through a symlink: resolve it. Only module
	// files are resolved; the watcher sees every write of everything else
	// in these directories (a database, a log) and must stay cheap.
	if !script.IsModule(path) {
		return false
	}
	real, err := filepath.EvalSymlinks(path)
	return err == nil && real != path && set.HasInput(real)
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
	cfg, err := a.cfg.Reload()
	if err != nil {
		return err
	}
	cur := a.router.Generation()
	gen, set, err := a.build(cfg, cur.Seq+1, a.scripts.Load())
	if err != nil {
		return err
	}
	if err := a.ingest.SetSources(ingestSources(cfg)); err != nil {
		return err
	}
	// One swap: routes, settings and scripts change together (scripts
	// is only the set the next build reuses, and what the watcher wants).
	a.scripts.Store(set)
	a.router.Swap(gen)
	a.pending = cfg
	if a.watcher != nil {
		// A listener added by this reload may live in a new directory.
		for _, p := range a.watchPaths() {
			if err := a.watcher.Add(p); err != nil {
				a.logger.Warn("watch new script directory", "path", p, "err", err)
			}
		}
	}
	return nil
}

// restartKeys lists the settings ("server.listen", "mail.host") that
// differ between the running config and the reloaded one but are only
// read at start. Listeners and sources are applied live.
func restartKeys(running, next *config.Config) []string {
	if next == nil {
		return nil
	}
	var keys []string
	a, b := reflect.ValueOf(*running), reflect.ValueOf(*next)
	for i := range a.NumField() {
		section := strings.Split(a.Type().Field(i).Tag.Get("toml"), ",")[0]
		if section == "" || section == "-" || section == "sources" || section == "listeners" || section == "defaults" {
			continue
		}
		sa, sb := a.Field(i), b.Field(i)
		if sa.Kind() != reflect.Struct {
			if !reflect.DeepEqual(sa.Interface(), sb.Interface()) {
				keys = append(keys, section)
			}
			continue
		}
		for j := range sa.NumField() {
			key := strings.Split(sa.Type().Field(j).Tag.Get("toml"), ",")[0]
			if key != "" && key != "-" && !reflect.DeepEqual(sa.Field(j).Interface(), sb.Field(j).Interface()) {
				keys = append(keys, section+"."+key)
			}
		}
	}
	return keys
}
