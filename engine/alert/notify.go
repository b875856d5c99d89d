package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine/host/mail"
)

// State is what a notification announces.
type State string

// The notifications an alert sends.
const (
	Firing    State = "firing"    // it started
	Repeat    State = "repeat"    // still firing, alerts_settings.repeat later
	Recovered State = "recovered" // it cleared
)

// Notice is one notification: the JSON body of a webhook notification
// (under "data", with "type" "alert.<state>") and the content of a mail.
type Notice struct {
	Alert    string    `json:"alert"`
	Listener string    `json:"listener"`
	State    State     `json:"state"`
	Kind     Kind      `json:"kind"`
	Value    string    `json:"value"`
	Summary  string    `json:"summary"`
	Since    time.Time `json:"since"` // when it started firing
	At       time.Time `json:"at"`
}

// subject is the mail subject (and the log line) of n.
func (n Notice) subject() string {
	word := map[State]string{Firing: "FIRING", Repeat: "STILL FIRING", Recovered: "RECOVERED"}[n.State]
	return fmt.Sprintf("[switchboard] %s %s - %s", word, n.Alert, n.Summary)
}

func (n Notice) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", n.subject())
	fmt.Fprintf(&b, "alert:     %s (%s)\nlistener:  %s\nstate:     %s\n", n.Alert, n.Kind, n.Listener, n.State)
	fmt.Fprintf(&b, "value:     %s\nsince:     %s\nat:        %s\n", n.Value,
		n.Since.UTC().Format(time.RFC3339), n.At.UTC().Format(time.RFC3339))
	if n.State == Recovered {
		fmt.Fprintf(&b, "\nIt fired for %s.\n", n.At.Sub(n.Since).Truncate(time.Second))
	}
	return b.String()
}

// Mailer sends mail. *mail.Mailer implements it.
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) (string, error)
}

// HTTPDoer sends requests: the SSRF-safe *http.Client of engine/host/http.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// notifier sends notices to targets.
type notifier struct {
	mailer Mailer
	http   HTTPDoer
	now    func() time.Time
}

func (s *notifier) send(ctx context.Context, t Target, n Notice) error {
	if t.Mail != "" {
		if s.mailer == nil {
			return fmt.Errorf("mail %s: no mailer configured", t.Mail)
		}
		_, err := s.mailer.Send(ctx, mail.Message{To: []string{t.Mail}, Subject: n.subject(), Text: n.text(),
			Headers: map[string]string{"X-Switchboard-Alert": n.Alert}})
		if err != nil {
			return fmt.Errorf("mail %s: %w", t.Mail, err)
		}
		return nil
	}
	return s.webhook(ctx, t, n)
}

// webhook POSTs n to t.URL, signed the Standard Webhooks way.
func (s *notifier) webhook(ctx context.Context, t Target, n Notice) error {
	body, err := json.Marshal(map[string]any{"type": "alert." + string(n.State), "timestamp": n.At.UTC(), "data": n})
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", t.Webhook, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", t.Webhook, err)
	}
	for k, v := range Sign(t.Key, newID(), s.now(), body) {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard-alerts")
	return s.do(req, "webhook "+t.Webhook)
}

// heartbeat requests url once.
func (s *notifier) heartbeat(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	req.Header.Set("User-Agent", "switchboard-heartbeat")
	return s.do(req, "heartbeat")
}

func (s *notifier) do(req *http.Request, what string) error {
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s answered %s", what, req.URL.Redacted(), resp.Status)
	}
	return nil
}

// Sign returns the Standard Webhooks headers for body sent as message id
// at t: webhook-id, webhook-timestamp and webhook-signature ("v1," and
// the base64 HMAC-SHA256 of "id.timestamp.body" under key).
func Sign(key []byte, id string, t time.Time, body []byte) map[string]string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return map[string]string{
		"webhook-id":        id,
		"webhook-timestamp": ts,
		"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return "msg_" + hex.EncodeToString(b)
}
