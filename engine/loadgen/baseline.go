package loadgen

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	bolt "go.etcd.io/bbolt"
)

// SignatureHeader is the header the baseline verifies: hex
// HMAC-SHA256 of the raw body, Ittybit's legacy scheme.
const SignatureHeader = "Ittybit-Signature"

var bucketName = []byte("events")

// BaselineServer is the naive server switchboard is measured against: it
// verifies the signature and, unless verify-only, stores each body in its
// own bbolt transaction (one fsync per request) before answering 200. Any
// path is accepted.
type BaselineServer struct {
	app    *fiber.App
	db     *bolt.DB // nil: verify only
	path   string
	secret []byte

	mu        sync.Mutex
	addr      net.Addr
	closeOnce sync.Once
	closeErr  error
}

// Baseline opens the "verify HMAC + one bolt Update per request" server
// with its bbolt file in dir. Serve starts it; Close stops it.
func Baseline(dir string, secret []byte) (*BaselineServer, error) {
	if len(secret) == 0 {
		return nil, errors.New("baseline: empty secret")
	}
	path := filepath.Join(dir, "baseline.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("baseline: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline: create bucket: %w", err)
	}
	return newServer(db, path, secret), nil
}

// VerifyOnly is the baseline without storage: it verifies the signature
// and answers 200. Load against it shows what the client and HTTP stack
// can do on this machine, the ceiling for any stored figure.
func VerifyOnly(secret []byte) (*BaselineServer, error) {
	if len(secret) == 0 {
		return nil, errors.New("verify-only: empty secret")
	}
	return newServer(nil, "", secret), nil
}

func newServer(db *bolt.DB, path string, secret []byte) *BaselineServer {
	s := &BaselineServer{db: db, path: path, secret: append([]byte(nil), secret...)}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
	})
	s.app.Post("/*", s.handle)
	return s
}

func (s *BaselineServer) handle(c *fiber.Ctx) error {
	body := c.Body()
	sig, err := hex.DecodeString(strings.TrimSpace(c.Get(SignatureHeader)))
	if err != nil || !hmac.Equal(sig, sign(s.secret, body)) {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "bad signature"})
	}
	if s.db != nil {
		val := append([]byte(nil), body...)
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketName)
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			return b.Put(binary.BigEndian.AppendUint64(nil, seq), val)
		})
		if err != nil {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "store failed"})
		}
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

func sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// SignBaseline returns the header that makes the baseline accept body.
func SignBaseline(secret, body []byte) map[string]string {
	return map[string]string{SignatureHeader: hex.EncodeToString(sign(secret, body))}
}

// Serve answers requests on ln until Close. It returns nil after Close.
func (s *BaselineServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	return s.app.Listener(ln)
}

// Addr is the address Serve listens on (nil before Serve).
func (s *BaselineServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stored is how many bodies the server has stored.
func (s *BaselineServer) Stored() (int, error) {
	if s.db == nil {
		return 0, nil
	}
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketName).Stats().KeyN
		return nil
	})
	return n, err
}

// FileSize is the size of the bbolt file in bytes (0 for verify-only).
func (s *BaselineServer) FileSize() (int64, error) {
	if s.path == "" {
		return 0, nil
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, fmt.Errorf("baseline: stat: %w", err)
	}
	return fi.Size(), nil
}

// Close stops serving, waiting up to 5s for requests in flight, then
// closes the bbolt file. Safe to call more than once.
func (s *BaselineServer) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.app.ShutdownWithContext(ctx)
		if s.db != nil {
			err = errors.Join(err, s.db.Close())
		}
		s.closeErr = err
	})
	return s.closeErr
}
