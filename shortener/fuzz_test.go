package shortener

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzNormalizeURL(f *testing.F) {
	seeds := []string{
		"https://example.com/destination",
		"HTTPS://Example.COM/A?b=1&a=2#F",
		"https://exämple.com/päth?q=ü#frä",
		"https://x.com/p?q=%zz",
		"http://[::1]:8080/x",
		"http://127.0.0.1/x",
		"https://xn--exmple-cua.com/",
		"https://ｅｘａｍｐｌｅ.com/",
		"https://x.com\u3002evil/",
		"https://bücher.de:8443/ü",
		"http://[::1]/ü",
		"https://faß.de/",
		"https://x.com／.evil.com",
		"https://ü..com/",
		"JaVaScRiPt:alert(1)",
		"java\tscript:alert(1)",
		"https://evil.com\\@good.com",
		"//evil.com",
		"https:\\\\evil.com",
		"https://user:pw@x.com",
		"https://x.com/\r\nSet-Cookie:a",
		"http:///x",
		"https://:80",
		"https://0x7f.1/",
		"http://[fe80::1%25eth0]/",
		"https://x.com/%zz",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeURL("url", raw)
		if err != nil {
			errCode(t, err, "url")
			return
		}
		checkNormalized(t, raw, got)
	})
}

// checkNormalized fails tb unless got is a destination NormalizeURL may
// return for raw.
func checkNormalized(tb testing.TB, raw, got string) {
	tb.Helper()
	if len(got) > MaxURLLen {
		tb.Errorf("NormalizeURL(%q) has %d bytes", raw, len(got))
	}
	for i := 0; i < len(got); i++ {
		if c := got[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			tb.Fatalf("NormalizeURL(%q) = %q holds byte %#x", raw, got, c)
		}
	}
	if isASCII(raw) && got != raw {
		tb.Errorf("NormalizeURL(%q) = %q, want ASCII unchanged", raw, got)
	}

	again, err := NormalizeURL("url", got)
	if err != nil || again != got {
		tb.Errorf("NormalizeURL(%q) = %q, %v; want it unchanged",
			got, again, err)
	}

	u, err := url.Parse(got)
	if err != nil {
		tb.Fatalf("url.Parse(%q): %v", got, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" ||
		u.User != nil {
		tb.Errorf("url.Parse(%q) = scheme %q, host %q, user %v",
			got, u.Scheme, u.Host, u.User)
	}
}

func FuzzCodeFromPath(f *testing.F) {
	seeds := []string{
		"/Xk3p9QaZ", "/Xk3p9QaZ).", "/", "", "/a/b", "/%00", "/api/v1/x",
		"Xk3p9QaZ", "//x", "/ü", "/" + strings.Repeat("a", 65),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		code, ok := CodeFromPath(path)
		if !ok {
			if code != "" {
				t.Errorf("CodeFromPath(%q) = %q, false", path, code)
			}
			return
		}
		if !strings.Contains(path, code) {
			t.Errorf("CodeFromPath(%q) = %q, not part of the path",
				path, code)
		}
		if code == "" || len(code) > 64 {
			t.Errorf("CodeFromPath(%q) = %q, want 1 to 64 bytes",
				path, code)
		}
		for i := 0; i < len(code); i++ {
			if !isAlnum(code[i]) && code[i] != '_' && code[i] != '-' {
				t.Errorf("CodeFromPath(%q) = %q, holds %q",
					path, code, code[i])
			}
		}
	})
}
