// Package watch reports changes to files and directory trees after a
// quiet period, for hot reload: one save, which editors turn into a
// burst of events, becomes one report.
//
// It watches directories, never single files, so that a file replaced by
// rename (most editors) or a Kubernetes ConfigMap swapped by re-pointing
// its ..data symlink is still seen. A tree includes subdirectories made
// later. Editor droppings (backups x~, swap files, Emacs locks .#x, vim's
// 4913) are never reported, and Options.Want drops every other path the
// caller does not care about before the quiet period starts, so a file
// rewritten constantly beside the watched ones neither triggers nor
// delays a report. When the watch itself fails (a queue overflow, a
// vanished directory), every watched tree is reported as changed.
package watch
