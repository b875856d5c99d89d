package mail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
)

func fileMailer(t *testing.T) (*Mailer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data", "mail")
	m, err := New(Options{Transport: "file", Dir: dir, From: "Media <media@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return time.Unix(1700000000, 42) }
	return m, dir
}

type recorder struct{ calls []string }

func (r *recorder) Record(module, fn string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func runtime(m *Mailer, rec engine.Recorder) *goja.Runtime {
	inv := &engine.Invocation{Ctx: context.Background(), Recorder: rec}
	rt := goja.New()
	rt.Set("mail", m.Exports(func() *engine.Invocation { return inv }))
	return rt
}

func TestFile_Send(t *testing.T) {
	m, dir := fileMailer(t)
	v, err := runtime(m, nil).RunString(`mail.send({
		to: ["Ada Lovelace <ada@example.com>", "grace@example.com"],
		cc: "ops@example.com",
		replyTo: "support@example.com",
		subject: "Your video is ready",
		text: "Hello Ada",
		html: "<p>Hello <b>Ada</b></p>",
		headers: {"X-Media-Id": 7},
	}).messageId`)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "1700000000000000042-ada@example.com.eml" {
		t.Fatalf("mail dir holds %v", entries)
	}
	data, _ := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	eml := string(data)
	for _, want := range []string{
		`From: "Media" <media@example.com>`,
		`To: "Ada Lovelace" <ada@example.com>, <grace@example.com>`,
		"Cc: <ops@example.com>",
		"Reply-To: <support@example.com>",
		"Subject: Your video is ready",
		"X-Media-Id: 7",
		"Message-ID: <" + v.String() + ">",
		"Date: ",
		"multipart/alternative",
		"Hello Ada",
		"<p>Hello <b>Ada</b></p>",
	} {
		if !strings.Contains(eml, want) {
			t.Errorf("message lacks %q:\n%s", want, eml)
		}
	}
	if !strings.Contains(eml, "\r\n") {
		t.Error("message lines are not CRLF-terminated")
	}
}

func TestSend_Invalid(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"missing to", `mail.send({subject: "s", text: "t"})`, "to is required"},
		{"missing subject", `mail.send({to: "a@example.com", text: "t"})`, "subject is required"},
		{"missing body", `mail.send({to: "a@example.com", subject: "s"})`, "text or html is required"},
		{"bad address", `mail.send({to: "not an address", subject: "s", text: "t"})`, "to "},
		{"bad list", `mail.send({to: ["a@example.com", 3], subject: "s", text: "t"})`, "to must be a string or a list of strings"},
		{"bad from", `mail.send({to: "a@example.com", from: "nope", subject: "s", text: "t"})`, "from "},
		{"subject injection", `mail.send({to: "a@example.com", subject: "s\r\nBcc: x@evil.com", text: "t"})`, "subject must be one line"},
		{"header injection", `mail.send({to: "a@example.com", subject: "s", text: "t", headers: {"X-A": "1\r\nBcc: x@evil.com"}})`, "must be one line"},
		{"reserved header", `mail.send({to: "a@example.com", subject: "s", text: "t", headers: {"Bcc": "x@evil.com"}})`, `header "Bcc" cannot be set`},
		{"no object", `mail.send()`, "expects an object"},
	}
	m, dir := fileMailer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtime(m, nil).RunString(tt.script)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("invalid mail was written: %v", entries)
	}
}

func TestLog_Send(t *testing.T) {
	var buf bytes.Buffer
	m, err := New(Options{Transport: "log", From: "switchboard <switchboard@localhost>", Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(context.Background(), Message{To: []string{"a@example.com"}, Subject: "Hi", Text: "secret body"}); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"level=INFO", `msg="mail sent"`, "to=[a@example.com]", "subject=Hi", "bytes="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "secret body") {
		t.Errorf("log line holds the body: %s", line)
	}
}

func TestSend_DryRun(t *testing.T) {
	m, dir := fileMailer(t)
	rec := &recorder{}
	v, err := runtime(m, rec).RunString(`mail.send({to: "a@example.com", subject: "s", text: "t"}).dryRun`)
	if err != nil || !v.ToBoolean() {
		t.Fatalf("got %v, %v", v, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || len(rec.calls) != 1 || !strings.HasPrefix(rec.calls[0], "mail.send [map[") {
		t.Fatalf("files %v, recorded %q", entries, rec.calls)
	}
}

func TestNew_Errors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"transport", Options{Transport: "pigeon"}, `transport "pigeon"`},
		{"file without dir", Options{Transport: "file"}, "needs a directory"},
		{"smtp without host", Options{Transport: "smtp"}, "needs a host"},
		{"starttls", Options{Transport: "smtp", Host: "h", StartTLS: "maybe"}, `starttls "maybe"`},
		{"from", Options{Transport: "log", From: "not an address"}, `from "not an address"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSanitise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"Ada Lovelace <ada@example.com>", "ada@example.com"},
		{"../../etc/passwd@x", ".._.._etc_passwd@x"},
	}
	for _, tt := range tests {
		if got := sanitise(tt.in); got != tt.want {
			t.Errorf("sanitise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
