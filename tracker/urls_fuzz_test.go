package tracker

import (
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func FuzzFind(f *testing.F) {
	for _, tc := range urlCases {
		f.Add(tc.body)
	}
	f.Add("(((https://x.test/a")
	f.Add("https://x.test/a(b)c)d]e}f")
	f.Add("a\xffhttps://x.test/\xfe\xc3(")
	f.Add("点击localhost:8080/abc查看'ya'")
	f.Add("LOCALHOST:8080/a\u00a0localhoſt:8080/b x.\u3000tel:+1 [::1]:80/x")

	short := NewURLFinder(testShortHost)
	local := NewURLFinder("localhost:8080")
	f.Fuzz(func(t *testing.T, body string) {
		for _, uf := range []*URLFinder{short, local} {
			got := uf.Find(body)
			checkSpans(t, body, got)
			if diff := cmp.Diff(findWhole(uf, body), got); diff != "" {
				t.Fatalf("Find(%q) differs from matching the whole body "+
					"(-whole +Find):\n%s", body, diff)
			}
		}
	})
}

// findWhole is Find without splitting body into words: what Find must
// return, only slower.
func findWhole(f *URLFinder, body string) []Span {
	re := f.regexp()
	email := re.SubexpIndex("relaxedEmail")
	var spans []Span
	for _, m := range re.FindAllStringSubmatchIndex(body, -1) {
		if m[2*email] >= 0 {
			continue
		}
		if s, ok := f.refine(body, m[0], m[1]); ok {
			spans = append(spans, s)
		}
	}
	return spans
}

// checkSpans fails tb unless spans could be what Find returns for body:
// texts taken from body, in order, not overlapping, valid UTF-8.
func checkSpans(tb testing.TB, body string, spans []Span) {
	tb.Helper()
	prev := 0
	for i, s := range spans {
		if s.Start < prev || s.Start >= s.End || s.End > len(body) {
			tb.Fatalf("span %d [%d, %d) out of order or range in %q",
				i, s.Start, s.End, body)
		}
		if got := body[s.Start:s.End]; got != s.Text {
			tb.Fatalf("span %d text %q, body holds %q", i, s.Text, got)
		}
		if !utf8.ValidString(s.Text) {
			tb.Fatalf("span %d text %q is not valid UTF-8", i, s.Text)
		}
		prev = s.End
	}
}
