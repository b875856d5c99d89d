package ingest

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// lingerWait bounds how long a refused connection is drained.
const lingerWait = time.Second

// lingerListener hands out connections that can be told to linger on
// close. fasthttp answers a request it refuses before reading its body
// (413, 431) and closes the connection at once; a sender that writes its
// whole body before reading the answer (Python's http.client, many
// webhook senders) then has unread bytes in the server's receive buffer,
// the kernel answers them with a reset, and the sender sees ECONNRESET
// instead of the 413. Draining first lets the answer be read.
type lingerListener struct {
	net.Listener
	max int64 // bytes drained at most per connection
}

// newLingerListener drains refused connections of up to four body limits
// or for lingerWait, whichever ends first.
func newLingerListener(ln net.Listener, bodyLimit int64) *lingerListener {
	return &lingerListener{Listener: ln, max: 4 * bodyLimit}
}

func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c, max: l.max}, nil
}

// lingerConn drains before closing once linger is set.
type lingerConn struct {
	net.Conn
	max    int64
	linger atomic.Bool
}

// lingerOnClose marks c (if it came from a lingerListener) to be drained
// when the server closes it.
func lingerOnClose(c net.Conn) {
	if lc, ok := c.(*lingerConn); ok {
		lc.linger.Store(true)
	}
}

// Close, for a connection marked to linger, first ends the write side (the
// answer is already flushed: the sender sees it complete), then reads and
// discards what the sender still sends, until it closes its side, max
// bytes were read, or lingerWait passed; then it closes. It runs on the
// connection's own server goroutine, which Shutdown waits for.
func (c *lingerConn) Close() error {
	if c.linger.Swap(false) {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerWait))
		_, _ = io.CopyN(io.Discard, c.Conn, c.max)
	}
	return c.Conn.Close()
}
