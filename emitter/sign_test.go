package emitter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vector is one signature test vector from testdata/signatures.json.
type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatal(err)
	}
	if len(vs) == 0 {
		tb.Fatal("no vectors in testdata/signatures.json")
	}
	return vs
}

// webhookHeaders returns the webhook headers of a delivery.
func webhookHeaders(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, sig)
	return h
}

// testSecret returns a secret made by NewSecret from fill.
func testSecret(tb testing.TB, fill byte) string {
	tb.Helper()
	s, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{fill}, 32)))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			got, err := Signature(v.Secret, v.ID, v.Timestamp, []byte(v.Body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v.Signature, got); diff != "" {
				t.Errorf("Signature (-want +got):\n%s", diff)
			}
			h := webhookHeaders(v.ID, v.Timestamp, v.Signature)
			now := time.Unix(v.Timestamp, 0)
			err = Verify(v.Secret, h, []byte(v.Body), now, DefaultTolerance)
			if err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	s, err := NewSecret(bytes.NewReader(make([]byte, 40)))
	if err != nil {
		t.Fatal(err)
	}
	want := "whsec_" + strings.Repeat("A", 43) + "="
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("NewSecret (-want +got):\n%s", diff)
	}

	if _, err := NewSecret(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("NewSecret with 31 bytes of randomness: no error")
	}

	a, errA := NewSecret(nil)
	b, errB := NewSecret(nil)
	if errA != nil || errB != nil || a == b {
		t.Errorf("NewSecret(nil) = %q, %v and %q, %v", a, errA, b, errB)
	}
	if _, err := decodeSecret(a); err != nil {
		t.Errorf("decode NewSecret(nil): %v", err)
	}
}

func TestSecretDecoding(t *testing.T) {
	b64 := func(n int) string {
		return base64.StdEncoding.EncodeToString(make([]byte, n))
	}
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"24 bytes", "whsec_" + b64(24), true},
		{"32 bytes", "whsec_" + b64(32), true},
		{"64 bytes", "whsec_" + b64(64), true},
		{"no prefix", b64(32), true},
		{"23 bytes", "whsec_" + b64(23), false},
		{"65 bytes", "whsec_" + b64(65), false},
		{"empty", "", false},
		{"prefix only", "whsec_", false},
		{"not base64", "whsec_!!!!" + b64(30), false},
		{"url encoding", "whsec_" + strings.Repeat("-_", 16), false},
		{"missing padding", "whsec_" + strings.TrimRight(b64(32), "="),
			false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Signature(tt.secret, "msg_1", 1, nil)
			if tt.ok && err != nil {
				t.Errorf("Signature: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadSecret) {
				t.Errorf("Signature: error %v, want ErrBadSecret", err)
			}
			err = Verify(tt.secret, webhookHeaders("msg_1", 1, "v1,x"), nil,
				time.Unix(1, 0), 0)
			if !tt.ok && !errors.Is(err, ErrBadSecret) {
				t.Errorf("Verify: error %v, want ErrBadSecret", err)
			}
		})
	}
}

func TestSignatureHeader(t *testing.T) {
	oldS, newS := testSecret(t, 1), testSecret(t, 2)
	body := []byte(`{"a":1}`)
	sigOld, _ := Signature(oldS, "evt_1", 100, body)
	sigNew, _ := Signature(newS, "evt_1", 100, body)

	got, err := SignatureHeader([]string{newS, oldS}, "evt_1", 100, body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sigNew+" "+sigOld, got); diff != "" {
		t.Errorf("SignatureHeader (-want +got):\n%s", diff)
	}
	h := webhookHeaders("evt_1", 100, got)
	for i, s := range []string{newS, oldS} {
		if err := Verify(s, h, body, time.Unix(100, 0), 0); err != nil {
			t.Errorf("Verify with secret %d: %v", i, err)
		}
	}
	err = Verify(testSecret(t, 3), h, body, time.Unix(100, 0), 0)
	if !errors.Is(err, ErrSignature) {
		t.Errorf("Verify with a third secret: %v, want ErrSignature", err)
	}

	if _, err := SignatureHeader(nil, "evt_1", 100, body); !errors.Is(err,
		ErrBadSecret) {
		t.Errorf("no secrets: error %v, want ErrBadSecret", err)
	}
	_, err = SignatureHeader([]string{newS, "whsec_x"}, "evt_1", 100, body)
	if !errors.Is(err, ErrBadSecret) {
		t.Errorf("bad second secret: error %v, want ErrBadSecret", err)
	}
}

func TestVerify(t *testing.T) {
	secret, other := testSecret(t, 7), testSecret(t, 8)
	rotated := testSecret(t, 9)
	now := time.Unix(1_770_000_000, 0)
	ts := now.Unix()
	body := []byte(`{"event":"lead.link_clicked"}`)
	sig := func(s, id string, ts int64, body []byte) string {
		t.Helper()
		v, err := Signature(s, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := sig(secret, "evt_1", ts, body)
	both, _ := SignatureHeader([]string{rotated, secret}, "evt_1", ts, body)
	minutes := func(n int) int64 { return ts + int64(n*60) }
	hs := webhookHeaders

	tests := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"round trip", hs("evt_1", ts, good), body, nil},
		{"rotation, old secret", hs("evt_1", ts, both), body, nil},
		{"other versions ignored",
			hs("evt_1", ts, "v2,abc v1a,x "+good+" garbage"), body, nil},
		{"tampered body", hs("evt_1", ts, good), []byte(`{}`),
			ErrSignature},
		{"tampered id", hs("evt_2", ts, good), body, ErrSignature},
		{"tampered timestamp", hs("evt_1", ts+1, good), body,
			ErrSignature},
		{"wrong secret", hs("evt_1", ts,
			sig(other, "evt_1", ts, body)), body, ErrSignature},
		{"signature under other version",
			hs("evt_1", ts, "v2"+strings.TrimPrefix(good, "v1")), body,
			ErrSignature},
		{"signature without version",
			hs("evt_1", ts, strings.TrimPrefix(good, "v1,")), body,
			ErrSignature},
		{"4 minutes old", hs("evt_1", minutes(-4),
			sig(secret, "evt_1", minutes(-4), body)), body, nil},
		{"4 minutes ahead", hs("evt_1", minutes(4),
			sig(secret, "evt_1", minutes(4), body)), body, nil},
		{"5 minutes old", hs("evt_1", minutes(-5),
			sig(secret, "evt_1", minutes(-5), body)), body, nil},
		{"6 minutes old", hs("evt_1", minutes(-6),
			sig(secret, "evt_1", minutes(-6), body)), body, ErrTimestamp},
		{"6 minutes ahead", hs("evt_1", minutes(6),
			sig(secret, "evt_1", minutes(6), body)), body, ErrTimestamp},
		{"missing id", hs("", ts, good), body, ErrMissingHeaders},
		{"missing signature", hs("evt_1", ts, " "), body,
			ErrMissingHeaders},
		{"missing timestamp", withoutHeader(hs("evt_1", ts, good),
			HeaderTimestamp), body, ErrMissingHeaders},
		{"unparsable timestamp", withHeader(hs("evt_1", ts, good),
			HeaderTimestamp, "soon"), body, ErrTimestamp},
		{"non-canonical timestamp", withHeader(hs("evt_1", ts, good),
			HeaderTimestamp, "+"+strconv.FormatInt(ts, 10)), body,
			ErrTimestamp},
		{"milliseconds timestamp", withHeader(hs("evt_1", ts, good),
			HeaderTimestamp, strconv.FormatInt(ts*1000, 10)), body,
			ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(secret, tt.h, tt.body, now, DefaultTolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify: error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	secret := testSecret(t, 3)
	now := time.Unix(1_770_000_000, 0)
	ts := now.Add(-90 * time.Second).Unix()
	sig, _ := Signature(secret, "evt_1", ts, nil)
	h := webhookHeaders("evt_1", ts, sig)

	if err := Verify(secret, h, nil, now, time.Minute); !errors.Is(err,
		ErrTimestamp) {
		t.Errorf("1m tolerance: error %v, want ErrTimestamp", err)
	}
	if err := Verify(secret, h, nil, now, 2*time.Minute); err != nil {
		t.Errorf("2m tolerance: %v", err)
	}
	if err := Verify(secret, h, nil, now, 0); err != nil {
		t.Errorf("zero tolerance means default: %v", err)
	}
}

// TestVerifyRequest verifies deliveries the way a consumer's server does,
// over real HTTP on the loopback interface.
func TestVerifyRequest(t *testing.T) {
	secret := testSecret(t, 5)
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			err = Verify(secret, r.Header, body, time.Now(),
				DefaultTolerance)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 5 * time.Second}

	body := []byte(`{"metadata":{"eventType":"lead.link_clicked"}}`)
	tests := []struct {
		name   string
		secret string
		body   []byte
		want   int
	}{
		{"signed", secret, body, http.StatusNoContent},
		{"other secret", testSecret(t, 6), body, http.StatusUnauthorized},
		{"body changed", secret, append(body, ' '), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := postSigned(t, client, srv.URL, tt.secret, body, tt.body)
			if got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// postSigned sends sent, signed as signed with secret, and returns the status.
func postSigned(t *testing.T, c *http.Client, url, secret string, signed,
	sent []byte) int {
	t.Helper()
	ts := time.Now().Unix()
	sig, err := SignatureHeader([]string{secret}, "evt_1", ts, signed)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url,
		bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = webhookHeaders("evt_1", ts, sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func withHeader(h http.Header, key, value string) http.Header {
	h.Set(key, value)
	return h
}

func withoutHeader(h http.Header, key string) http.Header {
	h.Del(key)
	return h
}

func BenchmarkSignature(b *testing.B) {
	secret := testSecret(b, 4)
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Signature(secret, "evt_01HN", 1_770_000_000,
			body); err != nil {
			b.Fatal(err)
		}
	}
}
