package db

import (
	"regexp"
	"strconv"
	"strings"
)

var dollarTag = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)?\$`)

// rebind rewrites ? placeholders to $1..$n for Postgres. A ? inside a
// quoted string, a quoted identifier, a dollar-quoted body or a comment is
// left alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); {
		if j := skipQuoted(query, i); j > i {
			b.WriteString(query[i:j])
			i = j
			continue
		}
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		} else {
			b.WriteByte(query[i])
		}
		i++
	}
	return b.String()
}

// skipQuoted returns the index just past a string, quoted identifier,
// dollar-quoted body or comment starting at i, or i if none starts there.
func skipQuoted(s string, i int) int {
	switch c := s[i]; {
	case c == '\'' || c == '"' || c == '`':
		for j := i + 1; j < len(s); j++ {
			if s[j] == c {
				if j+1 < len(s) && s[j+1] == c { // doubled quote escapes itself
					j++
					continue
				}
				return j + 1
			}
		}
		return len(s)
	case c == '-' && strings.HasPrefix(s[i:], "--"):
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			return i + j + 1
		}
		return len(s)
	case c == '/' && strings.HasPrefix(s[i:], "/*"):
		if j := strings.Index(s[i+2:], "*/"); j >= 0 {
			return i + 2 + j + 2
		}
		return len(s)
	case c == '$':
		// $tag$ ... $tag$ (Postgres); $1 is a parameter, not a tag.
		tag := dollarTag.FindString(s[i:])
		if tag == "" {
			return i
		}
		if k := strings.Index(s[i+len(tag):], tag); k >= 0 {
			return i + len(tag) + k + len(tag)
		}
		return len(s)
	}
	return i
}

// isRead reports whether query is a statement that only reads: it starts
// (after whitespace and comments) with SELECT, SHOW, EXPLAIN, VALUES or
// WITH, and a WITH does not contain a data-modifying statement.
func isRead(query string) bool {
	words := keywords(query)
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "SELECT", "SHOW", "EXPLAIN", "VALUES", "DESCRIBE":
		return true
	case "WITH":
		for _, w := range words[1:] {
			switch w {
			case "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT":
				return false
			}
		}
		return true
	}
	return false
}

// keywords returns the upper-cased bare words of query outside strings and
// comments, in order.
func keywords(query string) []string {
	var words []string
	for i := 0; i < len(query); {
		if j := skipQuoted(query, i); j > i {
			i = j
			continue
		}
		if isWordByte(query[i]) {
			j := i
			for j < len(query) && isWordByte(query[j]) {
				j++
			}
			words = append(words, strings.ToUpper(query[i:j]))
			i = j
			continue
		}
		i++
	}
	return words
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
