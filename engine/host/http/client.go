package http

import (
	"errors"
	"fmt"
	"io"
	"net"
	stdhttp "net/http"
	"net/netip"
	"syscall"
	"time"
)

// Options bound what scripts may reach through `http` (and `ittybit`,
// which shares the client). cmd/switchboard maps [http] onto them.
type Options struct {
	// AllowHosts, when set, are the only hosts requests may name: exact
	// names or "*.example.com".
	AllowHosts []string
	// AllowCIDRs are private or reserved ranges requests may reach anyway.
	AllowCIDRs []netip.Prefix
	// Timeout bounds a whole request (0: only the job's deadline);
	// ConnectTimeout a connect and TLS handshake (default 5s).
	Timeout        time.Duration
	ConnectTimeout time.Duration
	// MaxResponseBytes caps a response body after decompression (0: no cap).
	MaxResponseBytes int64
	// MaxRedirects is how many redirects are followed.
	MaxRedirects int
}

// NewClient returns an *http.Client that only reaches what opts allow:
// http and https URLs, hosts in AllowHosts (when set), and addresses
// outside the private and reserved ranges unless AllowCIDRs names them.
// The address check runs in the dialer after DNS, on every connection,
// so redirects and DNS rebinding are covered; proxies from the
// environment are ignored. Redirects stop after MaxRedirects; response
// bodies (after decompression) fail to read past MaxResponseBytes;
// connects give up after ConnectTimeout and whole requests after Timeout.
func NewClient(opts Options) *stdhttp.Client {
	return newClient(opts, NewGuard(opts.AllowHosts, opts.AllowCIDRs))
}

func newClient(opts Options, guard *Guard) *stdhttp.Client {
	connect := opts.ConnectTimeout
	if connect <= 0 {
		connect = 5 * time.Second
	}
	dialer := &net.Dialer{
		Timeout: connect,
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp6" {
				return fmt.Errorf("http: network %s is not allowed", network)
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("http: cannot check address %q: %w", address, err)
			}
			return guard.CheckIP(ap.Addr())
		},
	}
	transport := &stdhttp.Transport{
		Proxy:                 nil, // HTTP_PROXY would bypass the dialer's check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connect,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	maxRedirects := opts.MaxRedirects
	return &stdhttp.Client{
		Transport: &guardTransport{base: transport, guard: guard, max: opts.MaxResponseBytes},
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *stdhttp.Request, via []*stdhttp.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("http: stopped after %d redirects (http.max_redirects)", maxRedirects)
			}
			return nil
		},
	}
}

// guardTransport checks the scheme and host of every request, redirects
// included, and caps every response body.
type guardTransport struct {
	base  stdhttp.RoundTripper
	guard *Guard
	max   int64 // 0: no cap
}

func (t *guardTransport) RoundTrip(req *stdhttp.Request) (*stdhttp.Response, error) {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		closeBody(req)
		return nil, fmt.Errorf("http: scheme %q is not allowed (only http and https)", s)
	}
	if err := t.guard.CheckHost(req.URL.Hostname()); err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || t.max <= 0 {
		return resp, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

func closeBody(req *stdhttp.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// ErrTooLarge is wrapped by reads of a body longer than max_response_bytes.
var ErrTooLarge = errors.New("response too large")

// cappedBody fails with ErrTooLarge once more than max bytes were read. It
// sits above the transport's decompression, so it counts expanded bytes.
type cappedBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed
	max  int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.err()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // read one past the cap to know it was exceeded
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), b.err()
	}
	return n, err
}

func (b *cappedBody) err() error {
	return fmt.Errorf("http: response larger than %d bytes (http.max_response_bytes): %w", b.max, ErrTooLarge)
}

func (b *cappedBody) Close() error { return b.rc.Close() }
