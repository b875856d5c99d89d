package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"
)

func tlsPolicy(s string) (gomail.TLSPolicy, error) {
	switch s {
	case "", "required":
		return gomail.TLSMandatory, nil
	case "opportunistic":
		return gomail.TLSOpportunistic, nil
	case "none":
		return gomail.NoTLS, nil
	}
	return 0, fmt.Errorf("starttls %q is not one of required, opportunistic, none", s)
}

// sendSMTP delivers gm to mail.host. ctx bounds the whole exchange: its
// end closes the connection, since go-mail only watches ctx while dialing.
func (m *Mailer) sendSMTP(ctx context.Context, gm *gomail.Msg) error {
	policy, err := tlsPolicy(m.opts.StartTLS)
	if err != nil {
		return err
	}
	port := m.opts.Port
	if port == 0 {
		port = 587
		if m.opts.TLS {
			port = 465
		}
	}
	timeout := m.opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tlsConfig := m.tlsConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: m.opts.Host, MinVersion: tls.VersionTLS12}
	}

	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: timeout}
		var conn net.Conn
		var err error
		if m.opts.TLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSPolicy(policy),
	}
	if m.opts.TLS {
		// The dialer already speaks TLS; go-mail sees an encrypted
		// connection and must not try STARTTLS on top of it.
		opts[len(opts)-1] = gomail.WithTLSPolicy(gomail.TLSOpportunistic)
	}
	if m.opts.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.opts.Username),
			gomail.WithPassword(m.opts.Password.Reveal()))
	}
	c, err := gomail.NewClient(m.opts.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s:%d: %w", m.opts.Host, port, err)
	}
	if err := c.DialAndSendWithContext(ctx, gm); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp send via %s:%d: %w (%w)", m.opts.Host, port, ctx.Err(), err)
		}
		return fmt.Errorf("smtp send via %s:%d: %w", m.opts.Host, port, err)
	}
	return nil
}
