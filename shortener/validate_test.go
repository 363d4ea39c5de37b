package shortener

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// errCode returns the Code of err, or "" when err is nil. It fails tb
// unless err is an *InvalidError outside a batch, about field, with a
// message.
func errCode(tb testing.TB, err error, field string) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var ie *InvalidError
	if !errors.As(err, &ie) {
		tb.Fatalf("error %v is a %T, not an *InvalidError", err, err)
	}
	if ie.Field != field || ie.Index != -1 || ie.Message == "" {
		tb.Errorf("error %#v: want Field %q, Index -1 and a message",
			ie, field)
	}
	return ie.Code
}

// pathOfLen returns an https URL of exactly n bytes.
func pathOfLen(n int) string {
	const prefix = "https://x.com/"
	return prefix + strings.Repeat("a", n-len(prefix))
}

func TestNormalizeURLKeepsASCII(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"plain", "https://example.com/destination"},
		{"http without path", "http://example.com"},
		{"case, query order and fragment", "HTTPS://Example.COM/A?b=1&a=2#F"},
		{"malformed escape in query", "https://x.com/p?q=%zz&r=%"},
		{"escapes kept", "https://x.com/p%20q?a=%2f#%41"},
		{"port", "https://x.com:8080/p"},
		{"highest port", "https://x.com:65535"},
		{"port with leading zero", "http://x.com:080/"},
		{"IPv4", "http://127.0.0.1/x"},
		{"IPv6 and port", "http://[::1]:8080/x"},
		{"IPv4-mapped IPv6", "http://[::ffff:1.2.3.4]/"},
		{"at sign in path", "https://x.com/@evil.com"},
		{"at sign in query", "https://x.com?to=a@b.com"},
		{"query right after host", "https://x.com?a=1"},
		{"fragment right after host", "https://x.com#top"},
		{"slashes and marks in query", "https://x.com/a?b#c?d/e"},
		{"unusual ASCII", "https://x.com/{a}|^`\"<>'"},
		{"underscore in host", "https://my_site.example.com/"},
		{"double hyphen label", "https://r3---sn-abc.googlevideo.com/"},
		{"trailing dot", "https://example.com./"},
		{"punycode host", "https://xn--exmple-cua.com/"},
		{"punycode host upper case", "https://XN--EXMPLE-CUA.com"},
		{"digit labels", "https://123.example.com/"},
		{"longest", pathOfLen(MaxURLLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeURL("url", tt.in)
			if code := errCode(t, err, "url"); code != "" {
				t.Fatalf("NormalizeURL(%q) refused: %v", tt.in, err)
			}
			if got != tt.in {
				t.Errorf("NormalizeURL(%q) = %q, want it unchanged",
					tt.in, got)
			}
		})
	}
}

func TestNormalizeURLNormalises(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{{
		name: "IDN host, path, query and fragment",
		in:   "https://exämple.com/päth?q=ü#frä",
		want: "https://xn--exmple-cua.com/p%C3%A4th?q=%C3%BC#fr%C3%A4",
	}, {
		name: "ASCII host kept as given",
		in:   "https://Example.COM/ü",
		want: "https://Example.COM/%C3%BC",
	}, {
		name: "IDN host lower-cased",
		in:   "https://ÉXAMPLE.com",
		want: "https://xn--xample-9ua.com",
	}, {
		name: "IDN host with port",
		in:   "https://bücher.de:8443/ü",
		want: "https://xn--bcher-kva.de:8443/%C3%BC",
	}, {
		name: "sharp s kept, not mapped to ss",
		in:   "https://faß.de/",
		want: "https://xn--fa-hia.de/",
	}, {
		name: "full-width host",
		in:   "https://ｅｘａｍｐｌｅ.com/",
		want: "https://example.com/",
	}, {
		name: "ideographic full stop",
		in:   "https://x.com\u3002evil/",
		want: "https://x.com.evil/",
	}, {
		name: "IPv6 host, non-ASCII path",
		in:   "http://[::1]/ü",
		want: "http://[::1]/%C3%BC",
	}, {
		name: "emoji",
		in:   "https://x.com/🙂",
		want: "https://x.com/%F0%9F%99%82",
	}, {
		name: "invalid UTF-8 in path",
		in:   "https://x.com/\xff",
		want: "https://x.com/%FF",
	}, {
		name: "right-to-left override escaped",
		in:   "https://x.com/a\u202Eb",
		want: "https://x.com/a%E2%80%AEb",
	}, {
		name: "malformed escape in query kept",
		in:   "https://x.com/ü?%zz",
		want: "https://x.com/%C3%BC?%zz",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeURL("url", tt.in)
			if code := errCode(t, err, "url"); code != "" {
				t.Fatalf("NormalizeURL(%q) refused: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NormalizeURL(%q) (-want +got):\n%s", tt.in, diff)
			}

			again, err := NormalizeURL("url", got)
			if err != nil || again != got {
				t.Errorf("NormalizeURL(%q) = %q, %v; want it unchanged",
					got, again, err)
			}
		})
	}
}

func TestNormalizeURLRefuses(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"empty", "", "missing_field"},
		{"javascript mixed case", "JaVaScRiPt:alert(1)", "invalid_url"},
		{"javascript with tab", "java\tscript:alert(1)", "invalid_url"},
		{"javascript with newline", "java\nscript:alert(1)", "invalid_url"},
		{"javascript", "javascript:alert(1)", "invalid_url"},
		{"data", "data:text/html,<script>alert(1)</script>", "invalid_url"},
		{"ftp", "ftp://x.com/f", "invalid_url"},
		{"mailto", "mailto:a@b.com", "invalid_url"},
		{"file", "file:///etc/passwd", "invalid_url"},
		{"long s in scheme", "httpſ://x.com", "invalid_url"},
		{"scheme-relative", "//evil.com", "invalid_url"},
		{"no scheme", "x.com/p", "invalid_url"},
		{"path only", "/p", "invalid_url"},
		{"no slashes", "https:x.com", "invalid_url"},
		{"one slash", "https:/x.com", "invalid_url"},
		{"no colon", "https//x.com", "invalid_url"},
		{"backslash before at", "https://evil.com\\@good.com", "invalid_url"},
		{"backslashes for slashes", "https:\\\\evil.com", "invalid_url"},
		{"backslash in path", "https://x.com/a\\b", "invalid_url"},
		{"user and password", "https://user:pw@x.com", "invalid_url"},
		{"user", "https://user@x.com/", "invalid_url"},
		{"empty user", "https://@x.com/", "invalid_url"},
		{"non-ASCII user", "https://ü@x.com/", "invalid_url"},
		{"header injection", "https://x.com/\r\nSet-Cookie:a", "invalid_url"},
		{"NUL", "https://x.com/\x00", "invalid_url"},
		{"DEL", "https://x.com/\x7f", "invalid_url"},
		{"escape", "https://x.com/\x1b[2J", "invalid_url"},
		{"leading space", " https://x.com", "invalid_url"},
		{"trailing newline", "https://x.com\n", "invalid_url"},
		{"space in path", "https://x.com/a b", "invalid_url"},
		{"space in host", "https://ex ample.com", "invalid_url"},
		{"tab with non-ASCII", "https://exämple.com/\t", "invalid_url"},
		{"too long", pathOfLen(MaxURLLen + 1), "invalid_url"},
		{
			"too long once escaped",
			"https://x.com/" + strings.Repeat("ü", MaxURLLen/4),
			"invalid_url",
		},
		{"no host, path", "http:///x", "invalid_url"},
		{"no host, port", "https://:80", "invalid_url"},
		{"no host", "https://", "invalid_url"},
		{"no host, query", "https://?a", "invalid_url"},
		{"port 0", "https://x.com:0/", "invalid_url"},
		{"port too high", "https://x.com:65536/", "invalid_url"},
		{"six-digit port", "https://x.com:000080/", "invalid_url"},
		{"port letters", "https://x.com:http/", "invalid_url"},
		{"empty port", "https://x.com:/", "invalid_url"},
		{"two ports", "https://x.com:80:90/", "invalid_url"},
		{"negative port", "https://x.com:-1/", "invalid_url"},
		{"signed port", "https://x.com:+80/", "invalid_url"},
		{"full-width port", "https://x.com:８０/", "invalid_url"},
		{"dollar in host", "https://ex$ample.com", "invalid_url"},
		{"escape in host", "https://ex%61mple.com", "invalid_url"},
		{"bang in host", "https://ex!.com", "invalid_url"},
		{"leading hyphen", "https://-x.com", "invalid_url"},
		{"trailing hyphen", "https://x-.com", "invalid_url"},
		{"empty label", "https://a..b", "invalid_url"},
		{"leading dot", "https://.x.com", "invalid_url"},
		{"only a dot", "https://./", "invalid_url"},
		{
			"label too long",
			"https://" + strings.Repeat("a", 64) + ".com",
			"invalid_url",
		},
		{
			"name too long",
			"https://" + strings.Repeat("abc.", 63) + "com",
			"invalid_url",
		},
		{"IPv4 out of range", "https://999.1.1.1/", "invalid_url"},
		{"IPv4 short form", "https://1.2.3/", "invalid_url"},
		{"IPv4 hex", "https://0x7f.1/", "invalid_url"},
		{"IPv4 octal", "https://0177.0.0.1/", "invalid_url"},
		{"IPv4 as one number", "https://2130706433/", "invalid_url"},
		{"five numbers", "https://1.2.3.4.5/", "invalid_url"},
		{"IPv6 unclosed", "http://[::1", "invalid_url"},
		{"IPv6 holding IPv4", "http://[1.2.3.4]/", "invalid_url"},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", "invalid_url"},
		{"IPv6 junk after", "http://[::1]x/", "invalid_url"},
		{"IPvFuture", "http://[v1.x]/", "invalid_url"},
		{"bad IPv6", "http://[::g]/", "invalid_url"},
		{"bracket in name", "http://x[1].com/", "invalid_url"},
		{"bad punycode", "https://xn--zz.com", "invalid_url"},
		{"ASCII punycode", "https://xn--abc.com", "invalid_url"},
		{"full-width solidus in host", "https://x.com／.evil.com",
			"invalid_url"},
		{"IDN empty label", "https://ü..com/", "invalid_url"},
		{"malformed escape in path", "https://x.com/%zz", "invalid_url"},
		{"truncated escape in path", "https://x.com/%4", "invalid_url"},
		{"malformed escape in fragment", "https://x.com/#%zz",
			"invalid_url"},
		{"malformed escape, non-ASCII", "https://x.com/%zz/ü",
			"invalid_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeURL("url", tt.in)
			if code := errCode(t, err, "url"); code != tt.code {
				t.Errorf("NormalizeURL(%q) = %q, %v; want code %s",
					tt.in, got, err, tt.code)
			}
			if got != "" {
				t.Errorf("NormalizeURL(%q) = %q with an error, want \"\"",
					tt.in, got)
			}
		})
	}
}

func TestNormalizeURLField(t *testing.T) {
	_, err := NormalizeURL("links.url", "ftp://x.com")
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("NormalizeURL error = %v, want an *InvalidError", err)
	}
	want := &InvalidError{
		Code:    "invalid_url",
		Field:   "links.url",
		Message: "links.url must be an absolute http or https URL",
		Index:   -1,
	}
	if diff := cmp.Diff(want, ie); diff != "" {
		t.Errorf("NormalizeURL error (-want +got):\n%s", diff)
	}
}

func TestValidatePhone(t *testing.T) {
	tests := []struct {
		in, code string
	}{
		{"+1234567890", ""},
		{"+12", ""},
		{"+123456789012345", ""},
		{"+447911123456", ""},
		{"", "missing_field"},
		{"+", "invalid_phone"},
		{"+1", "invalid_phone"},
		{"+1234567890123456", "invalid_phone"},
		{"+0123456789", "invalid_phone"},
		{"1234567890", "invalid_phone"},
		{"00441234567", "invalid_phone"},
		{"++1234567890", "invalid_phone"},
		{"+1 234 567 890", "invalid_phone"},
		{"+1-234-567-890", "invalid_phone"},
		{"+123456789a", "invalid_phone"},
		{"+1234567890\n", "invalid_phone"},
		{"+١٢٣٤٥٦٧", "invalid_phone"},
		{"+１２３４５６７", "invalid_phone"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := ValidatePhone("phone", tt.in)
			if code := errCode(t, err, "phone"); code != tt.code {
				t.Errorf("ValidatePhone(%q) = %v, want code %q",
					tt.in, err, tt.code)
			}
		})
	}
}

func TestValidateCampaignID(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"typical", "abc456xyz", ""},
		{"one character", "a", ""},
		{"every kind", "Spring_2025.v2:a-b", ""},
		{"longest", strings.Repeat("a", 128), ""},
		{"empty", "", "missing_field"},
		{"too long", strings.Repeat("a", 129), "invalid_campaign_id"},
		{"space", "abc 456", "invalid_campaign_id"},
		{"slash", "abc/456", "invalid_campaign_id"},
		{"control", "abc\x00", "invalid_campaign_id"},
		{"non-ASCII", "kampagne-ü", "invalid_campaign_id"},
		{"at sign", "a@b", "invalid_campaign_id"},
		{"dot", ".", "invalid_campaign_id"},
		{"two dots", "..", "invalid_campaign_id"},
		{"three dots", "...", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCampaignID("campaignId", tt.in)
			if code := errCode(t, err, "campaignId"); code != tt.code {
				t.Errorf("ValidateCampaignID(%q) = %v, want code %q",
					tt.in, err, tt.code)
			}
		})
	}
}

func TestValidateExternalLeadID(t *testing.T) {
	const bad = "invalid_external_lead_id"
	tests := []struct {
		name, in, code string
	}{
		{"empty", "", ""},
		{"typical", "abc123", ""},
		{"free text", "lead #42 / Müller, Anna", ""},
		{"longest", strings.Repeat("a", 256), ""},
		{"replacement character", "a\uFFFDb", ""},
		{"too long", strings.Repeat("a", 257), bad},
		{"longest in characters", strings.Repeat("ü", 256), ""},
		{"longest in characters of four bytes", strings.Repeat("🌷", 256), ""},
		{"too long in characters", strings.Repeat("ü", 257), bad},
		{"NUL", "a\x00b", bad},
		{"newline", "a\nb", bad},
		{"tab", "a\tb", bad},
		{"DEL", "a\x7fb", bad},
		{"C1 control", "a\u0085b", bad},
		{"invalid UTF-8", "a\xffb", bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateExternalLeadID("externalLeadId", tt.in)
			if code := errCode(t, err, "externalLeadId"); code != tt.code {
				t.Errorf("ValidateExternalLeadID(%q) = %v, want code %q",
					tt.in, err, tt.code)
			}
		})
	}
}
