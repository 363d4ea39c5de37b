package tracker

import (
	"testing"
	"unicode/utf8"
)

func FuzzFind(f *testing.F) {
	for _, tc := range urlCases {
		f.Add(tc.body)
	}
	f.Add("(((https://x.test/a")
	f.Add("https://x.test/a(b)c)d]e}f")
	f.Add("a\xffhttps://x.test/\xfe\xc3(")
	f.Add("点击localhost:8080/abc查看'ya'")

	short := NewURLFinder(testShortHost)
	local := NewURLFinder("localhost:8080")
	f.Fuzz(func(t *testing.T, body string) {
		checkSpans(t, body, short.Find(body))
		checkSpans(t, body, local.Find(body))
	})
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
