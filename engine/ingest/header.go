package ingest

import (
	"net/textproto"

	"github.com/valyala/fasthttp"
)

// Header reads request headers by name, case-insensitively. net/http's
// http.Header satisfies it as is.
type Header interface {
	Get(name string) string
}

// MapHeader is a Header over a plain map, such as the one Sign returns.
// Lookups ignore case.
type MapHeader map[string]string

// Get returns the value of the first key equal to name ignoring case.
func (m MapHeader) Get(name string) string {
	if v, ok := m[name]; ok {
		return v
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if v, ok := m[canon]; ok {
		return v
	}
	for k, v := range m {
		if textproto.CanonicalMIMEHeaderKey(k) == canon {
			return v
		}
	}
	return ""
}

// fastHeader adapts a fasthttp request's headers. Values are copied, so
// they stay valid after the handler returns and fasthttp reuses its
// buffers.
type fastHeader struct{ h *fasthttp.RequestHeader }

func (f fastHeader) Get(name string) string { return string(f.h.Peek(name)) }
