package emitter

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a Standard Webhooks delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a delivery's webhook-timestamp may be from
// the receiver's clock, in either direction, for Verify to accept it.
const DefaultTolerance = 5 * time.Minute

const (
	secretPrefix     = "whsec_"
	newSecretBytes   = 32
	minSecretBytes   = 24
	maxSecretBytes   = 64
	signatureVersion = "v1"
)

// Errors of signing and verification. Callers check them with errors.Is.
var (
	// ErrBadSecret reports a secret that is not "whsec_" followed by the
	// base64 of 24 to 64 bytes.
	ErrBadSecret = errors.New("bad webhook secret")
	// ErrMissingHeaders reports a delivery without a webhook-id,
	// webhook-timestamp or webhook-signature header.
	ErrMissingHeaders = errors.New("missing webhook headers")
	// ErrTimestamp reports a webhook-timestamp that is not a Unix time in
	// seconds or lies outside the tolerance.
	ErrTimestamp = errors.New("webhook timestamp unparsable or too far off")
	// ErrSignature reports that no v1 signature matches the delivery.
	ErrSignature = errors.New("no matching webhook signature")
)

// NewSecret returns a new endpoint secret: "whsec_" followed by the
// standard base64 of 32 bytes read from r. A nil r means crypto/rand.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	key := make([]byte, newSecretBytes)
	if _, err := io.ReadFull(r, key); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Signature returns "v1," followed by the base64 HMAC-SHA256, keyed with
// the decoded secret, of id + "." + ts + "." + body, ts in decimal. The
// "whsec_" prefix of secret is optional. It returns an error wrapping
// ErrBadSecret if secret does not decode to 24 to 64 bytes.
func Signature(secret, id string, ts int64, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return sign(key, id, ts, body), nil
}

// SignatureHeader returns the webhook-signature header value for a
// delivery signed with each of secrets: their signatures, space separated,
// in the order given. It returns an error wrapping ErrBadSecret if secrets
// is empty or one of them is malformed.
func SignatureHeader(secrets []string, id string, ts int64,
	body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("%w: none given", ErrBadSecret)
	}
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sig, err := Signature(s, id, ts, body)
		if err != nil {
			return "", fmt.Errorf("secret %d: %w", i, err)
		}
		sigs[i] = sig
	}
	return strings.Join(sigs, " "), nil
}

// Verify checks a delivery the way a consumer does. The webhook-timestamp
// header must be within tolerance of now, before or after (a tolerance of
// zero or less means DefaultTolerance), and one of the space-separated
// "v1,..." entries of webhook-signature must be the signature of the
// webhook-id, webhook-timestamp and body with secret; entries of other
// versions are ignored. Verify returns nil, ErrMissingHeaders,
// ErrTimestamp, ErrSignature, or an error wrapping ErrBadSecret.
func Verify(secret string, h http.Header, body []byte, now time.Time,
	tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText := h.Get(HeaderID), h.Get(HeaderTimestamp)
	sigs := strings.Join(h.Values(HeaderSignature), " ")
	if id == "" || tsText == "" || strings.TrimSpace(sigs) == "" {
		return ErrMissingHeaders
	}

	ts, ok := parseTimestamp(tsText)
	if !ok || !withinTolerance(ts, now, tolerance) {
		return ErrTimestamp
	}

	want := []byte(sign(key, id, ts, body))
	for _, entry := range strings.Fields(sigs) {
		if hmac.Equal([]byte(entry), want) {
			return nil
		}
	}
	return ErrSignature
}

// decodeSecret returns the key bytes of secret, with or without its
// "whsec_" prefix.
func decodeSecret(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(secret, secretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrBadSecret)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d",
			ErrBadSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

// sign returns the v1 signature entry of a delivery under key.
func sign(key []byte, id string, ts int64, body []byte) string {
	var buf [96]byte
	msg := append(buf[:0], id...)
	msg = append(msg, '.')
	msg = strconv.AppendInt(msg, ts, 10)
	msg = append(msg, '.')

	m := hmac.New(sha256.New, key)
	m.Write(msg)
	m.Write(body)
	var sum [sha256.Size]byte
	return signatureVersion + "," +
		base64.StdEncoding.EncodeToString(m.Sum(sum[:0]))
}

// parseTimestamp parses Unix seconds written in canonical decimal, so
// that the text signed is the text sent.
func parseTimestamp(s string) (int64, bool) {
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != s {
		return 0, false
	}
	return ts, true
}

// withinTolerance reports whether Unix time ts lies within tolerance of
// now in either direction.
func withinTolerance(ts int64, now time.Time, tolerance time.Duration) bool {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return ts >= now.Add(-tolerance).Unix() && ts <= now.Add(tolerance).Unix()
}
