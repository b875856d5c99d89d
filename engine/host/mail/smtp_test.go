package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// selfSigned returns a server certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "switchboard test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// received is what the test SMTP server saw.
type received struct {
	mu       sync.Mutex
	user     string
	pass     string
	tls      bool
	from     string
	rcpts    []string
	data     string
	messages int
}

type session struct {
	r    *received
	conn *smtp.Conn
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "mailer" || password != "s3cret" {
			return errors.New("bad credentials")
		}
		s.r.mu.Lock()
		s.r.user, s.r.pass = username, password
		s.r.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.from = from
	_, s.r.tls = s.conn.TLSConnectionState()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.rcpts = append(s.r.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.data = string(b)
	s.r.messages++
	return err
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// smtpServer runs a go-smtp server on 127.0.0.1:0. starttls offers
// STARTTLS with tlsCfg; implicit wraps the listener in TLS instead.
func smtpServer(t *testing.T, tlsCfg *tls.Config, implicit bool) (*received, int) {
	t.Helper()
	r := &received{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{r: r, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = false
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	} else {
		srv.TLSConfig = tlsCfg
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return r, l.Addr().(*net.TCPAddr).Port
}

func smtpMailer(t *testing.T, port int, clientTLS *tls.Config, mutate func(*Options)) *Mailer {
	t.Helper()
	opts := Options{Transport: "smtp", Host: "127.0.0.1", Port: port, StartTLS: "required", Timeout: 30 * time.Second,
		From: "Media <media@example.com>", Username: "mailer", Password: "s3cret"}
	if mutate != nil {
		mutate(&opts)
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	m.tlsConfig = clientTLS
	return m
}

var sample = Message{
	To:      []string{"Ada Lovelace <ada@example.com>", "grace@example.com"},
	Bcc:     []string{"audit@example.com"},
	Subject: "Your video is ready",
	Text:    "Hello Ada,\nit is done.",
}

func TestSMTP_StartTLSAuth(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name     string
		implicit bool
		mutate   func(*Options)
	}{
		{"starttls required", false, nil},
		{"starttls opportunistic", false, func(c *Options) { c.StartTLS = "opportunistic" }},
		{"implicit tls", true, func(c *Options) { c.TLS = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, port := smtpServer(t, serverTLS, tt.implicit)
			id, err := smtpMailer(t, port, clientTLS, tt.mutate).Send(context.Background(), sample)
			if err != nil {
				t.Fatal(err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.user != "mailer" || r.pass != "s3cret" || !r.tls {
				t.Errorf("auth user=%q pass=%q tls=%v", r.user, r.pass, r.tls)
			}
			if r.from != "media@example.com" || strings.Join(r.rcpts, ",") != "ada@example.com,grace@example.com,audit@example.com" {
				t.Errorf("envelope from=%q rcpts=%q", r.from, r.rcpts)
			}
			for _, want := range []string{"Subject: Your video is ready", "Hello Ada,", "Message-ID: <" + id + ">", `To: "Ada Lovelace" <ada@example.com>, <grace@example.com>`} {
				if !strings.Contains(r.data, want) {
					t.Errorf("message lacks %q:\n%s", want, r.data)
				}
			}
			if strings.Contains(r.data, "audit@example.com") {
				t.Errorf("bcc leaked into the message headers")
			}
		})
	}
}

func TestSMTP_StartTLSRequiredWithoutTLS(t *testing.T) {
	r, port := smtpServer(t, nil, false)
	_, err := smtpMailer(t, port, nil, nil).Send(context.Background(), sample)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("error = %v, want a STARTTLS refusal", err)
	}
	if r.messages != 0 {
		t.Fatal("a message was delivered without TLS")
	}
}

func TestSMTP_BadCredentials(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	_, port := smtpServer(t, serverTLS, false)
	_, err := smtpMailer(t, port, clientTLS, func(c *Options) { c.Password = "wrong" }).Send(context.Background(), sample)
	if err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error = %v, want an auth failure without the password", err)
	}
}

func TestSMTP_ContextEndsStalledServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and never greet
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	m := smtpMailer(t, l.Addr().(*net.TCPAddr).Port, nil, func(c *Options) { c.Timeout = time.Minute })
	_, err = m.Send(ctx, sample)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the context's deadline", err)
	}
}
