package mail

import (
	"errors"
	"fmt"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to send. To, Subject and Text or HTML are required.
type Message struct {
	From    string // defaults to mail.from
	To      []string
	Cc      []string
	Bcc     []string
	ReplyTo string
	Subject string
	Text    string
	HTML    string
	Headers map[string]string // extra headers, e.g. X-Campaign
}

// reserved are headers a script may not set through Headers: they come
// from the fields above or from the mailer.
var reserved = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true,
	"message-id": true, "date": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true,
}

// build checks msg and turns it into a go-mail message with a Message-ID
// and Date.
func build(msg Message, defaultFrom string) (*gomail.Msg, error) {
	if len(msg.To) == 0 {
		return nil, errors.New("to is required")
	}
	if strings.TrimSpace(msg.Subject) == "" {
		return nil, errors.New("subject is required")
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, errors.New("text or html is required")
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := msg.From
	if from == "" {
		from = defaultFrom
	}
	if from == "" {
		return nil, errors.New("from is required (set mail.from)")
	}
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	for _, set := range []struct {
		name  string
		addrs []string
		fn    func(...string) error
	}{{"to", msg.To, m.To}, {"cc", msg.Cc, m.Cc}, {"bcc", msg.Bcc, m.Bcc}} {
		if len(set.addrs) == 0 {
			continue
		}
		if err := set.fn(set.addrs...); err != nil {
			return nil, fmt.Errorf("%s %q: %w", set.name, set.addrs, err)
		}
	}
	if msg.ReplyTo != "" {
		if err := m.ReplyTo(msg.ReplyTo); err != nil {
			return nil, fmt.Errorf("replyTo %q: %w", msg.ReplyTo, err)
		}
	}
	if strings.ContainsAny(msg.Subject, "\r\n") {
		return nil, errors.New("subject must be one line")
	}
	m.Subject(msg.Subject)
	for k, v := range msg.Headers {
		if !validHeaderName(k) || reserved[strings.ToLower(k)] {
			return nil, fmt.Errorf("header %q cannot be set", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header %q must be one line", k)
		}
		m.SetGenHeader(gomail.Header(k), v)
	}
	switch {
	case msg.Text != "" && msg.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.Text != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	default:
		m.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	}
	m.SetMessageID()
	m.SetDate()
	return m, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// messageID returns m's Message-ID header value.
func messageID(m *gomail.Msg) string {
	if ids := m.GetGenHeader(gomail.HeaderMessageID); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// parseMessage reads a script's send({…}) argument.
func parseMessage(opts map[string]any) (Message, error) {
	var msg Message
	if opts == nil {
		return msg, errors.New("expects an object {to, subject, text|html}")
	}
	var err error
	str := func(key string) string {
		if err != nil {
			return ""
		}
		switch v := opts[key].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			err = fmt.Errorf("%s must be a string", key)
			return ""
		}
	}
	list := func(key string) []string {
		if err != nil {
			return nil
		}
		switch v := opts[key].(type) {
		case nil:
			return nil
		case string:
			return []string{v}
		case []any:
			out := make([]string, 0, len(v))
			for _, a := range v {
				s, ok := a.(string)
				if !ok {
					err = fmt.Errorf("%s must be a string or a list of strings", key)
					return nil
				}
				out = append(out, s)
			}
			return out
		default:
			err = fmt.Errorf("%s must be a string or a list of strings", key)
			return nil
		}
	}
	msg = Message{
		From: str("from"), ReplyTo: str("replyTo"), Subject: str("subject"), Text: str("text"), HTML: str("html"),
		To: list("to"), Cc: list("cc"), Bcc: list("bcc"),
	}
	if err != nil {
		return msg, err
	}
	switch h := opts["headers"].(type) {
	case nil:
	case map[string]any:
		msg.Headers = make(map[string]string, len(h))
		for k, v := range h {
			msg.Headers[k] = fmt.Sprint(v)
		}
	default:
		return msg, errors.New("headers must be an object")
	}
	return msg, nil
}
