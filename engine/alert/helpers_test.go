package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/host/mail"
	"github.com/switchboard/switchboard/engine/ingest"
)

// testQueue gives the alerter the stats a test sets. Its KV behaves as
// the backends' do (engine/queuetest proves theirs).
type testQueue struct {
	mu      sync.Mutex
	stats   engine.Stats
	samples []engine.Sample
	procs   []engine.Process
	kv      map[string][]byte
	failing error
}

func newTestQueue() *testQueue {
	return &testQueue{kv: map[string][]byte{}, stats: engine.Stats{
		Listeners: map[string]map[engine.JobState]int{}, OldestDueBy: map[string]time.Time{}}}
}

func (q *testQueue) set(fn func(*testQueue)) { q.mu.Lock(); fn(q); q.mu.Unlock() }

func (q *testQueue) Stats(context.Context) (engine.Stats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats, q.failing
}

func (q *testQueue) Samples(_ context.Context, from, to time.Time) ([]engine.Sample, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []engine.Sample
	for _, s := range q.samples {
		if !s.Minute.Before(from) && s.Minute.Before(to) {
			out = append(out, s)
		}
	}
	return out, q.failing
}

func (q *testQueue) Processes(context.Context) ([]engine.Process, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.procs, q.failing
}

func (q *testQueue) KVGet(_ context.Context, ns, key string) ([]byte, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.kv[ns+"|"+key]
	return v, ok, nil
}

func (q *testQueue) KVSet(_ context.Context, ns, key string, v []byte, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.kv[ns+"|"+key] = append([]byte(nil), v...)
	return nil
}

func (q *testQueue) KVDelete(_ context.Context, ns, key string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.kv, ns+"|"+key)
	return nil
}

// mailbox is a real SMTP server (go-smtp, as engine/host/mail's tests
// use) that keeps every message.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
	port int
}

type smtpSession struct{ box *mailbox }

func (s smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s smtpSession) Reset()                               {}
func (s smtpSession) Logout() error                        { return nil }
func (s smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, string(b))
	s.box.mu.Unlock()
	return err
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return smtpSession{box}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return box
}

func (b *mailbox) messages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

// mailer is the real mail module, sending to box.
func (b *mailbox) mailer(t *testing.T) *mail.Mailer {
	t.Helper()
	m, err := mail.New(mail.Options{Transport: "smtp", Host: "127.0.0.1", Port: b.port, StartTLS: "none",
		From: "switchboard <alerts@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testSecret is a Standard Webhooks secret.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is an httptest server that verifies every request with
// engine/ingest's Standard Webhooks verifier and keeps the verified ones.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []map[string]any
	rejected []error
	ids      []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	v, err := ingest.NewVerifier(ingest.Source{Name: "alerts", Verify: "standard-webhooks", Secrets: []engine.Secret{testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := v.Verify(r.Header, body, time.Now())
		var msg map[string]any
		if err == nil {
			err = json.Unmarshal(body, &msg)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.rejected = append(rc.rejected, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		rc.got = append(rc.got, msg)
		rc.ids = append(rc.ids, id)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, m := range rc.got {
		out = append(out, m["type"].(string))
	}
	return out
}

func (rc *receiver) errs() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return errors.Join(rc.rejected...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// subjects parses each message's (folded, maybe encoded) Subject.
func subjects(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		msg, err := netmail.ReadMessage(strings.NewReader(m))
		if err != nil {
			out = append(out, "unparsable: "+err.Error())
			continue
		}
		s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			s = "undecodable: " + err.Error()
		}
		out = append(out, s)
	}
	return out
}
