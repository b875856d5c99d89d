package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
)

// Mailer delivers messages with the transport its config names. It is safe
// for concurrent use.
type Mailer struct {
	cfg    config.Mail
	dir    string // file transport: absolute directory
	logger *slog.Logger
	// tlsConfig overrides the TLS settings for SMTP (tests trust their own
	// certificate with it); nil verifies against the system roots.
	tlsConfig *tls.Config
	now       func() time.Time
}

var _ engine.Module = (*Mailer)(nil)

// New returns a Mailer for cfg. The file transport's directory is resolved
// against baseDir and created. logger receives the log transport's lines.
func New(cfg config.Mail, baseDir string, logger *slog.Logger) (*Mailer, error) {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Mailer{cfg: cfg, logger: logger, now: time.Now}
	switch cfg.Transport {
	case "file":
		if cfg.Dir == "" {
			return nil, fmt.Errorf("mail.dir: must be set for the file transport")
		}
		m.dir = cfg.Dir
		if !filepath.IsAbs(m.dir) {
			m.dir = filepath.Join(baseDir, m.dir)
		}
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return nil, fmt.Errorf("create mail directory: %w", err)
		}
	case "smtp":
		if cfg.Host == "" {
			return nil, fmt.Errorf("mail.host: must be set for the smtp transport")
		}
		if _, err := tlsPolicy(cfg.StartTLS); err != nil {
			return nil, err
		}
	case "log":
	default:
		return nil, fmt.Errorf("mail.transport: %q is not one of file, smtp, log", cfg.Transport)
	}
	if cfg.From != "" {
		if err := gomail.NewMsg().From(cfg.From); err != nil {
			return nil, fmt.Errorf("mail.from: %q: %w", cfg.From, err)
		}
	}
	return m, nil
}

// Name is the export name, "mail".
func (m *Mailer) Name() string { return "mail" }

// Exports returns send({to, cc, bcc, subject, text, html, from, replyTo,
// headers}) → {messageId}. to, cc and bcc take an address or a list;
// addresses may be "Name <addr>". In a dry run the message is checked and
// recorded, not sent.
func (m *Mailer) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"send": func(opts map[string]any) (map[string]any, error) {
			inv := cur()
			msg, err := parseMessage(opts)
			if err != nil {
				return nil, fmt.Errorf("mail.send: %w", err)
			}
			if inv.Recorder != nil {
				gm, err := build(msg, m.cfg.From)
				if err != nil {
					return nil, fmt.Errorf("mail.send: %w", err)
				}
				inv.Recorder.Record("mail", "send", opts)
				return map[string]any{"messageId": messageID(gm), "dryRun": true}, nil
			}
			id, err := m.Send(inv.Ctx, msg)
			if err != nil {
				return nil, fmt.Errorf("mail.send: %w", err)
			}
			return map[string]any{"messageId": id}, nil
		},
	}
}

// Send checks msg, delivers it and returns its Message-ID (without angle
// brackets). It gives up when ctx ends.
func (m *Mailer) Send(ctx context.Context, msg Message) (string, error) {
	gm, err := build(msg, m.cfg.From)
	if err != nil {
		return "", err
	}
	id := strings.Trim(messageID(gm), "<>")
	switch m.cfg.Transport {
	case "file":
		err = m.writeFile(gm, msg.To[0])
	case "smtp":
		err = m.sendSMTP(ctx, gm)
	case "log":
		var buf bytes.Buffer
		if _, err = gm.WriteTo(&buf); err == nil {
			m.logger.Info("mail sent", "transport", "log", "to", msg.To, "cc", msg.Cc, "subject", msg.Subject,
				"bytes", buf.Len(), "message_id", id)
		}
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// writeFile writes gm as <unix-nanos>-<first recipient>.eml, atomically.
func (m *Mailer) writeFile(gm *gomail.Msg, to string) error {
	name := strconv.FormatInt(m.now().UnixNano(), 10) + "-" + sanitise(to) + ".eml"
	tmp, err := os.CreateTemp(m.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := gm.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(m.dir, name)); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	return nil
}

// sanitise keeps an address's letters, digits and . _ @ + -, so it can be
// part of a file name.
func sanitise(addr string) string {
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	b := []byte(strings.TrimSpace(addr))
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._@+-", c) >= 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
