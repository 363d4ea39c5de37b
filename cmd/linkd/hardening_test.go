package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMissesAreRateLimited(t *testing.T) {
	in := start(t, "--miss-limit", "5")
	live := in.createLink("https://x.test/", "c", "+15551231000")
	for i := range 5 {
		if r := in.tap("GET", "/unknown"+string(rune('a'+i)), ""); r.StatusCode != 404 {
			t.Fatalf("miss %d: %d", i, r.StatusCode)
		}
	}
	r := in.tap("GET", "/unknownz", "")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth miss: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := in.tap("GET", "/"+live.Code, ""); r.StatusCode != 302 {
		t.Errorf("live code limited: %d", r.StatusCode)
	}
	// X-Forwarded-For is not trusted unless configured.
	if r := forwarded(t, in, "/unknowny", "203.0.113.9"); r != 429 {
		t.Errorf("untrusted X-Forwarded-For escaped the limit: %d", r)
	}

	behind := start(t, "--miss-limit", "1", "--trust-forwarded")
	if s := forwarded(t, behind, "/nope1", "203.0.113.1"); s != 404 {
		t.Errorf("first miss: %d", s)
	}
	if s := forwarded(t, behind, "/nope2", "203.0.113.1"); s != 429 {
		t.Errorf("second miss from one client: %d", s)
	}
	if s := forwarded(t, behind, "/nope3", "198.51.100.7, 203.0.113.2"); s != 404 {
		t.Errorf("another client behind the proxy: %d", s)
	}
}

func forwarded(t *testing.T, in *instance, path, xff string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", in.public+path, nil)
	req.Header.Set("User-Agent", iPhone)
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	preflight := func(in *instance, origin string) string {
		req, _ := http.NewRequest("OPTIONS", in.admin+"/api/v1/links", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	plain := start(t)
	if got := preflight(plain, "https://evil.example"); got != "" {
		t.Errorf("CORS header without configuration: %q", got)
	}
	cors := start(t, "--cors-origins", "https://app.example.com")
	if got := preflight(cors, "https://app.example.com"); got != "https://app.example.com" {
		t.Errorf("configured origin got %q", got)
	}
	if got := preflight(cors, "https://evil.example"); got != "" {
		t.Errorf("other origin got %q", got)
	}
}

func TestHostileRequests(t *testing.T) {
	in := start(t)
	raw := func(addr, req string) string {
		conn, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, req)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return line
	}
	for _, path := range []string{"/%0d%0aSet-Cookie:%20a=b", "/..%2f..%2fetc",
		"/" + strings.Repeat("a", 65), "/%00", "/a/b/c"} {
		r := in.tap("GET", path, "")
		if r.StatusCode != 404 || r.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d %v", path, r.StatusCode, r.Header)
		}
	}
	big := "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	if line := raw(in.public, big); !strings.Contains(line, "431") {
		t.Errorf("oversized header: %q", line)
	}
	if line := raw(in.public, "GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"); !strings.Contains(line, "400") {
		t.Errorf("malformed header: %q", line)
	}
}
