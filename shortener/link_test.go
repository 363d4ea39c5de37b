package shortener

import "testing"

func TestDestination(t *testing.T) {
	tests := []struct {
		name, url, query, want string
	}{
		{"no query", "https://x.test/p?b=2#f", "", "https://x.test/p?b=2#f"},
		{"query joins the destination's", "https://x.test/p?b=2#f", "a=1",
			"https://x.test/p?b=2&a=1#f"},
		{"query starts one", "https://x.test/p", "a=1", "https://x.test/p?a=1"},
		{"after a bare ?", "https://x.test/p?", "a=1", "https://x.test/p?a=1"},
		{"raw UTF-8 escaped", "https://x.test/p#f", "a=\u00e9",
			"https://x.test/p?a=%C3%A9#f"},
		{"hash escaped", "https://x.test/p?b=2#f", "a=1#frag",
			"https://x.test/p?b=2&a=1%23frag#f"},
		{"controls escaped", "https://x.test/p", "a=\x00\x7f",
			"https://x.test/p?a=%00%7F"},
		{"escapes kept", "https://x.test/p", "a=%20&b=%zz",
			"https://x.test/p?a=%20&b=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Link{URL: tt.url}
			if got := l.Destination(tt.query); got != tt.want {
				t.Errorf("Destination(%q) = %q, want %q", tt.query, got,
					tt.want)
			}
		})
	}
}
