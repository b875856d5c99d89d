package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/ingest"
)

// cmdSend signs a payload file with the source's configured secret, the
// way the real sender would, and POSTs it to the running server.
func cmdSend(ctx context.Context, args []string, stdout io.Writer) error {
	f := newFlags("send")
	url := f.String("url", "", "the server's base URL (http://host:port), or the full URL to post to (default: http://<server.listen>)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: send SOURCE PAYLOAD.json", errUsage)
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	var src *config.Source
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == pos[0] {
			src = &cfg.Sources[i]
		}
	}
	if src == nil {
		return fmt.Errorf("no source named %q in %s", pos[0], cfg.Path)
	}
	body, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	headers, err := ingest.Sign(ingestSource(*src), body, time.Now())
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sendURL(*url, cfg.Server.Listen, src.Path), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%d %s\n", resp.StatusCode, bytes.TrimSpace(answer))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}

// sendURL is where send posts: --url as given when its path already ends
// with the source's path (a full URL), else --url (or server.listen) as
// the base the source's path is appended to.
func sendURL(flag, listen, path string) string {
	if flag == "" {
		return "http://" + listen + path
	}
	u, err := neturl.Parse(flag)
	if err == nil && strings.HasSuffix(strings.TrimRight(u.Path, "/"), path) {
		return flag
	}
	return strings.TrimRight(flag, "/") + path
}
