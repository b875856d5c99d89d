package isolate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// protocolVersion changes whenever a message changes; parent and child
// are the same binary (the child is /proc/self/exe), so it only guards
// against a stray mismatch.
const protocolVersion = 1

// Message kinds. Child → parent: up (started; the parent sets its cap),
// ready (after the hello), need (a script it lacks), log, done. Parent →
// child: hello, run (with the bundle when the child needs it), check
// (compile a bundle; the child answers checked), and, on
// a pipe of its own, interrupt. Either way: call (a function of the
// other side), ret and err (its answer).
const (
	kUp        = "up"
	kHello     = "hello"
	kReady     = "ready"
	kRun       = "run"
	kCheck     = "check"   // compile a bundle and check its default export
	kChecked   = "checked" // its answer
	kNeed      = "need"
	kInterrupt = "interrupt"
	kDone      = "done"
	kCall      = "call"
	kRet       = "ret"
	kErr       = "err"
	kLog       = "log"
)

// msg is one message: an object whose "k" names its kind.
type msg map[string]any

func (m msg) kind() string { s, _ := m["k"].(string); return s }

func (m msg) str(key string) string { s, _ := m[key].(string); return s }

func (m msg) int(key string) int64 { n, _ := m[key].(int64); return n }

func (m msg) obj(key string) map[string]any { o, _ := m[key].(map[string]any); return o }

func (m msg) list(key string) []any { l, _ := m[key].([]any); return l }

var (
	// errFrameTooLarge: the other side announced a frame past the limit.
	errFrameTooLarge = errors.New("frame too large")
	// errEncoding: a message could not be encoded (nothing was sent).
	errEncoding = errors.New("cannot encode")
)

// wire is one end of a pipe pair: frames are a 4-byte big-endian length
// and one encoded message.
type wire struct {
	r        *bufio.Reader
	maxFrame int
	// The frame being read: its header so far, then its body so far.
	head [4]byte
	got  int
	body []byte

	mu     sync.Mutex // writes come from the attempt and from Close
	w      *bufio.Writer
	closer io.Closer // closes the writing end, when it can be closed
}

func newWire(r io.Reader, w io.Writer, maxFrame int) *wire {
	c := &wire{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(w, 64<<10), maxFrame: maxFrame}
	c.closer, _ = w.(io.Closer)
	return c
}

// closeWrite closes the writing end: the other side reads EOF.
func (c *wire) closeWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closer != nil {
		c.closer.Close()
	}
}

// send encodes m with enc (which may hold a limit and a function
// registry) and writes it as one frame.
func (c *wire) send(enc *encoder, m msg) error {
	enc.buf = append(enc.buf[:0], 0, 0, 0, 0)
	enc.cost = 0
	if err := enc.value(map[string]any(m), 0); err != nil {
		return fmt.Errorf("%w: %w", errEncoding, err)
	}
	binary.BigEndian.PutUint32(enc.buf, uint32(len(enc.buf)-4))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.w.Write(enc.buf); err != nil {
		return err
	}
	return c.w.Flush()
}

// sendPlain sends m with no limit and no functions.
func (c *wire) sendPlain(m msg) error { return c.send(&encoder{}, m) }

// receive reads one frame and decodes it with dec (its limit and
// function builder). A read error (a deadline passing) leaves the frame
// read so far in c, and the next receive goes on with it.
func (c *wire) receive(dec *decoder) (msg, error) {
	for c.got < len(c.head) {
		n, err := c.r.Read(c.head[c.got:])
		c.got += n
		if err != nil && c.got < len(c.head) {
			if c.got > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if c.body == nil {
		n := binary.BigEndian.Uint32(c.head[:])
		if int64(n) > int64(c.maxFrame) {
			return nil, fmt.Errorf("%w: %d bytes, at most %d", errFrameTooLarge, n, c.maxFrame)
		}
		c.body = make([]byte, 0, n)
	}
	for len(c.body) < cap(c.body) {
		n, err := c.r.Read(c.body[len(c.body):cap(c.body)])
		c.body = c.body[:len(c.body)+n]
		if err != nil && len(c.body) < cap(c.body) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	buf := c.body
	c.body, c.got = nil, 0
	dec.buf, dec.pos, dec.cost = buf, 0, 0
	v, err := dec.top()
	dec.buf = nil
	if err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok || msg(m).kind() == "" {
		return nil, fmt.Errorf("decode message: %w", errCorrupt)
	}
	return m, nil
}
