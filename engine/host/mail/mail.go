package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/switchboard/switchboard/engine"
)

// Options configure a Mailer. cmd/switchboard maps [mail] onto them.
type Options struct {
	// Transport is "file" (one .eml file per message in Dir), "smtp" or
	// "log" (the message goes to Logger).
	Transport string
	// From is the sender of messages that name none.
	From string
	// Dir is the file transport's directory, created if missing.
	Dir string
	// Host, Port (default 587; 465 with TLS), Username and Password reach
	// the SMTP server. StartTLS is "required" (the default),
	// "opportunistic" or "none"; TLS means implicit TLS.
	Host     string
	Port     int
	Username string
	Password engine.Secret
	StartTLS string
	TLS      bool
	// Timeout bounds one SMTP exchange (default 30s); the job's deadline
	// cuts it shorter.
	Timeout time.Duration
	// Logger receives the log transport's messages (default slog.Default()).
	Logger *slog.Logger
}

// Mailer delivers messages with the transport its options name. It is
// safe for concurrent use.
type Mailer struct {
	opts   Options
	logger *slog.Logger
	// tlsConfig overrides the TLS settings for SMTP (tests trust their own
	// certificate with it); nil verifies against the system roots.
	tlsConfig *tls.Config
	now       func() time.Time
}

var _ engine.Module = (*Mailer)(nil)

// New returns a Mailer for opts; the file transport's directory is
// created. An unknown transport, a file transport without a directory,
// an SMTP transport without a host or with an unknown StartTLS policy,
// and a From that is not an address are errors.
func New(opts Options) (*Mailer, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m := &Mailer{opts: opts, logger: logger, now: time.Now}
	switch opts.Transport {
	case "file":
		if opts.Dir == "" {
			return nil, errors.New("new mailer: the file transport needs a directory")
		}
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create mail directory: %w", err)
		}
	case "smtp":
		if opts.Host == "" {
			return nil, errors.New("new mailer: the smtp transport needs a host")
		}
		if _, err := tlsPolicy(opts.StartTLS); err != nil {
			return nil, fmt.Errorf("new mailer: %w", err)
		}
	case "log":
	default:
		return nil, fmt.Errorf("new mailer: transport %q is not one of file, smtp, log", opts.Transport)
	}
	if opts.From != "" {
		if err := gomail.NewMsg().From(opts.From); err != nil {
			return nil, fmt.Errorf("new mailer: from %q: %w", opts.From, err)
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
				gm, err := build(msg, m.opts.From)
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
	gm, err := build(msg, m.opts.From)
	if err != nil {
		return "", err
	}
	id := strings.Trim(messageID(gm), "<>")
	switch m.opts.Transport {
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
	tmp, err := os.CreateTemp(m.opts.Dir, ".tmp-*.eml")
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
	if err := os.Rename(tmp.Name(), filepath.Join(m.opts.Dir, name)); err != nil {
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
