package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is the admin token of test instances.
const testToken = "test-admin-token-0123456789"

// instance is a linkd serve running in the test process on loopback
// listeners and a bbolt file in a temporary folder.
type instance struct {
	t      testing.TB
	public string // http://127.0.0.1:port
	admin  string
	db     string
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(
	`redirects on (http://\S+), admin API on (http://\S+)`)

// start runs linkd serve on a new database with the test token, allowing
// private webhook addresses, plus args.
func start(t testing.TB, args ...string) *instance {
	t.Helper()
	db := filepath.Join(t.TempDir(), "linkd.db")
	return startOn(t, db, append([]string{"--admin-token", testToken}, args...)...)
}

// startOn runs linkd serve on the database file db with args.
func startOn(t testing.TB, db string, args ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{t: t, db: db, out: &syncBuffer{}, cancel: cancel,
		done: make(chan error, 1)}
	all := append([]string{"serve", "--db", db,
		"--public-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--webhook-allow-private"}, args...)
	errOut := &syncBuffer{}
	go func() { in.done <- run(ctx, all, noEnv, in.out, errOut) }()

	deadline := time.After(10 * time.Second)
	for {
		if m := listening.FindStringSubmatch(in.out.String()); m != nil {
			in.public, in.admin = m[1], m[2]
			break
		}
		select {
		case err := <-in.done:
			t.Fatalf("linkd serve ended at start: %v\n%s", err, errOut)
		case <-deadline:
			t.Fatalf("linkd serve did not start:\n%s", errOut)
		case <-time.After(2 * time.Millisecond):
		}
	}
	t.Cleanup(in.stop)
	return in
}

func noEnv(string) string { return "" }

// stop shuts the instance down and waits for it.
func (in *instance) stop() {
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil {
			in.t.Errorf("linkd serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		in.t.Errorf("linkd serve did not stop")
	}
}

// client never follows redirects, so tests see the 302 itself.
var client = &http.Client{
	Timeout: 20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// call makes an admin API request with token and decodes a JSON answer
// into out when out is not nil. It returns the status and raw body.
func (in *instance) call(token, method, path string, body any,
	out any) (int, []byte) {
	in.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b // of unknown length: sent chunked
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			in.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, in.admin+path, r)
	if err != nil {
		in.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}

// admin makes an admin API request with the admin token.
func (in *instance) adminCall(method, path string, body, out any) (int, []byte) {
	in.t.Helper()
	return in.call(testToken, method, path, body, out)
}

// mustCall is adminCall that fails the test unless the status is want.
func (in *instance) mustCall(want int, method, path string, body, out any) {
	in.t.Helper()
	if got, raw := in.adminCall(method, path, body, out); got != want {
		in.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got,
			want, raw)
	}
}

// link is the API's link answer.
type link struct {
	Code           string  `json:"code"`
	ShortURL       string  `json:"shortUrl"`
	URL            string  `json:"url"`
	CampaignID     string  `json:"campaignId"`
	Phone          string  `json:"phone"`
	ExternalLeadID string  `json:"externalLeadId"`
	ExpiresAt      *string `json:"expiresAt"`
	Disabled       bool    `json:"disabled"`
}

// createLink creates a link of campaign for phone to dest.
func (in *instance) createLink(dest, campaign, phone string) link {
	in.t.Helper()
	var l link
	in.mustCall(http.StatusCreated, "POST", "/api/v1/links", map[string]any{
		"url": dest, "campaignId": campaign, "phone": phone}, &l)
	return l
}

const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
	"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 " +
	"Safari/604.1"

// tap requests path on the public listener as a phone browser (or with
// agent when given) and returns the answer, body read and closed.
func (in *instance) tap(method, path, agent string) *http.Response {
	in.t.Helper()
	req, err := http.NewRequest(method, in.public+path, nil)
	if err != nil {
		in.t.Fatal(err)
	}
	if agent == "" {
		agent = iPhone
	}
	req.Header.Set("User-Agent", agent)
	resp, err := client.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// waitFor polls cond every few milliseconds until it holds or 15 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errorCode(raw []byte) (code, field string) {
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return e.Error.Code, e.Error.Field
}

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
