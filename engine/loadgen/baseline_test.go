package loadgen

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func startBaseline(t *testing.T, s *BaselineServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func postSigned(t *testing.T, url string, body []byte, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBaseline_Signature(t *testing.T) {
	secret := []byte("baseline-secret")
	body := []byte(`{"id":"evt_1"}`)
	tests := []struct {
		name    string
		headers map[string]string
		want    int
		stored  int
	}{
		{"good signature", SignBaseline(secret, body), 200, 1},
		{"wrong secret", SignBaseline([]byte("other"), body), 401, 0},
		{"signature of another body", SignBaseline(secret, []byte(`{}`)), 401, 0},
		{"not hex", map[string]string{SignatureHeader: "zz"}, 401, 0},
		{"missing", nil, 401, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Baseline(t.TempDir(), secret)
			if err != nil {
				t.Fatal(err)
			}
			url := startBaseline(t, s)
			if got := postSigned(t, url+"/webhooks/ittybit", body, tt.headers); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			var stored [][]byte
			err = s.db.View(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketName).ForEach(func(_, v []byte) error {
					stored = append(stored, bytes.Clone(v))
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != tt.stored || (tt.stored == 1 && !bytes.Equal(stored[0], body)) {
				t.Fatalf("stored %q, want %d copies of the body", stored, tt.stored)
			}
			if n, _ := s.Stored(); n != tt.stored {
				t.Fatalf("Stored() = %d, want %d", n, tt.stored)
			}
		})
	}
}

// TestBaseline_Load stores every distinct body byte for byte under
// concurrent load (the body must be copied out of Fiber's buffer).
func TestBaseline_Load(t *testing.T) {
	secret := []byte("k")
	s, err := Baseline(t.TempDir(), secret)
	if err != nil {
		t.Fatal(err)
	}
	url := startBaseline(t, s)
	res, err := Run(context.Background(), Options{URL: url + "/hook", Connections: 8, Requests: 300,
		Sign: func(b []byte) map[string]string { return SignBaseline(secret, b) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 300 {
		t.Fatalf("result %+v, want 300 ok", res)
	}
	seen := map[string]bool{}
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).ForEach(func(_, v []byte) error {
			if !strings.HasPrefix(string(v), `{"id":"evt_bench_`) || !strings.HasSuffix(string(v), `"}}`) {
				t.Errorf("stored body corrupted: %.60s…", v)
			}
			seen[string(v)] = true
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 300 {
		t.Fatalf("stored %d distinct bodies, want 300", len(seen))
	}
	if size, err := s.FileSize(); err != nil || size <= 0 {
		t.Fatalf("file size %d, %v", size, err)
	}
}

func TestVerifyOnly_StoresNothing(t *testing.T) {
	secret := []byte("k")
	s, err := VerifyOnly(secret)
	if err != nil {
		t.Fatal(err)
	}
	url := startBaseline(t, s)
	body := []byte(`{}`)
	if got := postSigned(t, url, body, SignBaseline(secret, body)); got != 200 {
		t.Fatalf("good signature: %d", got)
	}
	if got := postSigned(t, url, body, nil); got != 401 {
		t.Fatalf("no signature: %d", got)
	}
	if s.Addr() == nil {
		t.Fatal("Addr nil after Serve")
	}
}

func TestBaseline_EmptySecret(t *testing.T) {
	if _, err := Baseline(t.TempDir(), nil); err == nil {
		t.Fatal("Baseline accepted an empty secret")
	}
	if _, err := VerifyOnly(nil); err == nil {
		t.Fatal("VerifyOnly accepted an empty secret")
	}
}
