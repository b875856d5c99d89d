package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The console is a single page of static files embedded in the binary:
// it needs nothing from any other origin, works offline, and gets every
// figure from the JSON API with the visitor's own credentials. The page
// itself holds no data, so it is served to anyone; without a session it
// shows the login form.

//go:embed console
var consoleFiles embed.FS

// consoleFS is the console directory: index.html, app.css, js/*.js.
var consoleFS = func() fs.FS {
	sub, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}()

func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	serveFile(w, r, "index.html")
}

func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	serveFile(w, r, "favicon.svg")
}

// assets serves /assets/<file> from the console directory; directories
// are not listed.
func (s *Server) assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/assets/")
		if name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
			s.writeError(w, r, invalid("no such asset: %q", r.URL.Path))
			return
		}
		serveFile(w, r, name)
	})
}

// serveFile answers one embedded file; the console is small enough to
// fetch afresh every time, so a new binary's console is never mixed with
// a cached old one.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := fs.Stat(consoleFS, name); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.ServeFileFS(w, r, consoleFS, name)
}
