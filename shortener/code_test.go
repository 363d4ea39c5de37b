package shortener

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// cycleReader yields the bytes 0 to 255 in turn, forever: a source in
// which every byte value is exactly as frequent as every other.
type cycleReader struct{ next byte }

func (r *cycleReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// constReader yields b forever.
type constReader byte

func (r constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// checkCode fails tb unless code looks like a generated code.
func checkCode(tb testing.TB, code string) {
	tb.Helper()
	if len(code) != 8 {
		tb.Errorf("code %q has %d characters, want 8", code, len(code))
	}
	for i := 0; i < len(code); i++ {
		if !isAlnum(code[i]) {
			tb.Errorf("code %q has %q, want only [A-Za-z0-9]", code, code[i])
		}
	}
}

func TestNewCode(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want string
	}{
		{"first letters", bytes.NewReader([]byte{0, 1, 2, 3, 4, 5, 6, 7}),
			"ABCDEFGH"},
		{"alphabet edges", bytes.NewReader(
			[]byte{25, 26, 51, 52, 60, 61, 186, 187}), "Zaz089AB"},
		{"high bytes dropped", bytes.NewReader(
			[]byte{248, 255, 0, 61, 62, 247, 123, 200, 1, 2}), "A9A99OBC"},
		{"one byte per read", iotest.OneByteReader(bytes.NewReader(
			[]byte{255, 0, 1, 2, 3, 4, 5, 6, 7})), "ABCDEFGH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewCode(tt.r)
			if err != nil {
				t.Fatalf("NewCode: %v", err)
			}
			if got != tt.want {
				t.Errorf("NewCode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewCodeErrors(t *testing.T) {
	errRead := errors.New("entropy pool on fire")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"read fails", iotest.ErrReader(errRead), errRead},
		{"empty", bytes.NewReader(nil), io.EOF},
		{"short", bytes.NewReader([]byte{1, 2, 3}), io.ErrUnexpectedEOF},
		{"short after drops", bytes.NewReader(
			[]byte{1, 2, 3, 4, 5, 6, 7, 255}), io.EOF},
		{"only high bytes", constReader(0xff), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewCode(tt.r)
			if err == nil {
				t.Fatalf("NewCode = %q, want an error", got)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("NewCode error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestNewCodeUniform feeds every byte value twice. An unbiased draw turns
// the 2*248 bytes below the limit into each of the 62 characters exactly 8
// times; a modulo draw, which uses all bytes, would give 'A' to 'H' more.
func TestNewCodeUniform(t *testing.T) {
	r := &cycleReader{}
	counts := map[rune]int{}
	for range 62 {
		code, err := NewCode(r)
		if err != nil {
			t.Fatalf("NewCode: %v", err)
		}
		for _, c := range code {
			counts[c]++
		}
	}

	want := map[rune]int{}
	for _, c := range codeAlphabet {
		want[c] = 8
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("character counts (-want +got):\n%s", diff)
	}
}

func TestNewCodeCryptoRand(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		code, err := NewCode(rand.Reader)
		if err != nil {
			t.Fatalf("NewCode: %v", err)
		}
		checkCode(t, code)
		if seen[code] {
			t.Errorf("NewCode returned %q twice", code)
		}
		seen[code] = true
	}
}

func TestValidateCustomCode(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"typical", "optional-custom", ""},
		{"shortest", "abc", ""},
		{"longest", strings.Repeat("a", 64), ""},
		{"every kind", "Ab_9-z", ""},
		{"generated form", "Xk3p9QaZ", ""},
		{"reserved word inside", "api-docs", ""},
		{"empty", "", "invalid_code"},
		{"too short", "ab", "invalid_code"},
		{"too long", strings.Repeat("a", 65), "invalid_code"},
		{"dot", "a.b.c", "invalid_code"},
		{"slash", "abc/def", "invalid_code"},
		{"space", "abc def", "invalid_code"},
		{"percent", "abc%20", "invalid_code"},
		{"non-ASCII", "cafés", "invalid_code"},
		{"Kelvin sign", "\u212Aabc", "invalid_code"},
		{"NUL", "abc\x00", "invalid_code"},
		{"api", "api", "invalid_code"},
		{"API", "API", "invalid_code"},
		{"healthz", "healthz", "invalid_code"},
		{"readyz", "ReadyZ", "invalid_code"},
		{"metrics", "metrics", "invalid_code"},
		{"static", "static", "invalid_code"},
		{"assets", "assets", "invalid_code"},
		{"dashboard", "Dashboard", "invalid_code"},
		{"login", "login", "invalid_code"},
		{"logout", "logout", "invalid_code"},
		{"admin", "ADMIN", "invalid_code"},
		{"app", "app", "invalid_code"},
		{"www", "www", "invalid_code"},
		{"docs", "docs", "invalid_code"},
		{"apple-app-site-association", "apple-app-site-association",
			"invalid_code"},
		{"favicon.ico", "favicon.ico", "invalid_code"},
		{".well-known", ".well-known", "invalid_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCustomCode("code", tt.in)
			if code := errCode(t, err, "code"); code != tt.code {
				t.Errorf("ValidateCustomCode(%q) = %v, want code %q",
					tt.in, err, tt.code)
			}
		})
	}
}

func TestReservedPath(t *testing.T) {
	dotted := []string{"favicon.ico", "robots.txt", "openapi.json",
		".well-known", "sitemap.xml", "humans.txt", "security.txt"}
	for _, p := range dotted {
		if !reservedPath(p) || !reservedPath(strings.ToUpper(p)) {
			t.Errorf("reservedPath(%q) = false, want true", p)
		}
	}
}

func TestCodeFromPath(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/Xk3p9QaZ", "Xk3p9QaZ", true},
		{"/a", "a", true},
		{"/optional-custom", "optional-custom", true},
		{"/a_b-C9", "a_b-C9", true},
		{"/" + strings.Repeat("a", 64), strings.Repeat("a", 64), true},
		{"Xk3p9QaZ", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ/", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ.", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ,", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ)", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ!", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ;", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ:", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ).", "Xk3p9QaZ", true},
		{"/Xk3p9QaZ/.,)!;:", "Xk3p9QaZ", true},
		{"/api", "api", true},
		{"", "", false},
		{"/", "", false},
		{"//", "", false},
		{"/.", "", false},
		{"/!!", "", false},
		{"//Xk3p9QaZ", "", false},
		{"/a/b", "", false},
		{"/a/b/", "", false},
		{"/api/v1/x", "", false},
		{"/%00", "", false},
		{"/a\x00", "", false},
		{"/a b", "", false},
		{"/a?b", "", false},
		{"/a#b", "", false},
		{"/a.b", "", false},
		{"/(a)", "", false},
		{"/a\r\nSet-Cookie:x", "", false},
		{"/ü", "", false},
		{"/favicon.ico", "", false},
		{"/" + strings.Repeat("a", 65), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := CodeFromPath(tt.path)
			if got != tt.want || ok != tt.ok {
				t.Errorf("CodeFromPath(%q) = %q, %t; want %q, %t",
					tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCodeFromPathAllocs(t *testing.T) {
	var ok bool
	n := testing.AllocsPerRun(100, func() {
		_, ok = CodeFromPath("/Xk3p9QaZ).")
	})
	if !ok {
		t.Fatal("CodeFromPath refused the path")
	}
	if n != 0 {
		t.Errorf("CodeFromPath allocates %v times per call, want 0", n)
	}
}

func BenchmarkCodeFromPath(b *testing.B) {
	b.ReportAllocs()
	var code string
	for b.Loop() {
		code, _ = CodeFromPath("/Xk3p9QaZ).")
	}
	if code != "Xk3p9QaZ" {
		b.Fatalf("CodeFromPath = %q, want Xk3p9QaZ", code)
	}
}
