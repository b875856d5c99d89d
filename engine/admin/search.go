package admin

import (
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/engine"
)

// Search is a parsed event search (the q parameter of GET /api/events
// and the console's search box).
//
//	evt_01H…                  an event id, else a delivery id
//	id = evt_01H…             an event id
//	delivery = abc-123        a delivery id
//	source = ittybit          a source
//	data.id = task_01…        a payload field (any other dot path)
//	payload.source = x        a payload field named like a keyword
//
// Terms are separated by spaces, or by "and"; a value with spaces is
// quoted ("a b"). At most one payload field per search.
type Search struct {
	ID         string // exact event id
	Word       string // a bare word: an event id, else a delivery id
	Source     string
	DeliveryID string
	Field      string
	Value      string
}

// ParseSearch reads q. Its errors say which term is wrong.
func ParseSearch(q string) (Search, error) {
	var s Search
	toks, err := tokens(q)
	if err != nil {
		return s, err
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if strings.EqualFold(t, "and") {
			continue
		}
		key, val, hasEq := strings.Cut(t, "=")
		switch {
		case hasEq && key != "":
			// key=value in one token; value may follow ("key= v").
		case i+1 < len(toks) && toks[i+1] == "=":
			key, hasEq = t, true
			i++
		case i+1 < len(toks) && strings.HasPrefix(toks[i+1], "=") && len(toks[i+1]) > 1:
			key, val, hasEq = t, toks[i+1][1:], true
			i++
		}
		if !hasEq {
			if s.Word != "" {
				return s, fmt.Errorf("search: %q and %q: write key = value terms (id, delivery, source or a payload path)", s.Word, t)
			}
			s.Word = t
			continue
		}
		if val == "" {
			if i+1 >= len(toks) {
				return s, fmt.Errorf("search: %s = needs a value", key)
			}
			i++
			val = toks[i]
		}
		if err := s.set(strings.TrimSpace(key), val); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s *Search) set(key, val string) error {
	switch key {
	case "id", "event":
		s.ID = val
	case "delivery", "delivery_id", "deliveryId":
		s.DeliveryID = val
	case "source":
		s.Source = val
	default:
		path := strings.TrimPrefix(key, "payload.")
		if !engine.ValidPath(path) {
			return fmt.Errorf("search: %q is not a payload path like data.id", key)
		}
		if s.Field != "" {
			return fmt.Errorf("search: one payload field per search (%s and %s)", s.Field, path)
		}
		s.Field, s.Value = path, val
	}
	return nil
}

// tokens splits q on spaces, keeping "quoted values" whole and "=" as a
// token of its own when spaced.
func tokens(q string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted, inQuote := false, false
	flush := func() {
		if cur.Len() > 0 || quoted {
			out = append(out, cur.String())
		}
		cur.Reset()
		quoted = false
	}
	for _, r := range q {
		switch {
		case r == '"':
			inQuote, quoted = !inQuote, true
		case inQuote:
			cur.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\n':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("search: unclosed quote in %q", q)
	}
	flush()
	return out, nil
}

// query turns a search into the queue's EventQuery (ID and Word are
// looked up by the caller first).
func (s Search) query() engine.EventQuery {
	return engine.EventQuery{Source: s.Source, DeliveryID: s.DeliveryID, Field: s.Field, Value: s.Value}
}
