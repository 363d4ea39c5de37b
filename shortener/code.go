package shortener

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// codeAlphabet holds the characters of generated codes.
	codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" +
		"0123456789"
	// codeLen is the length of generated codes.
	codeLen = 8
	// codeByteLimit is the largest multiple of len(codeAlphabet) that fits
	// in a byte. Random bytes at or above it are dropped so that every
	// character of the alphabet is equally likely.
	codeByteLimit = 256 - 256%len(codeAlphabet)
	// maxCodeReads bounds the reads of NewCode. With a uniform source the
	// chance of needing more is below 2^-90.
	maxCodeReads = 32
)

// Lengths of custom codes and of codes found in request paths.
const (
	minCustomCodeLen = 3
	maxCodeLen       = 64
)

// NewCode returns a new 8-character code of [A-Za-z0-9] drawn from r, which
// is crypto/rand.Reader outside tests. Every character is equally likely:
// bytes that would favour some are dropped, not folded in. NewCode fails
// only if reading r fails or r keeps producing bytes that are dropped.
func NewCode(r io.Reader) (string, error) {
	var code, buf [codeLen]byte
	n := 0
	for range maxCodeReads {
		need := buf[:codeLen-n]
		if _, err := io.ReadFull(r, need); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range need {
			if int(b) < codeByteLimit {
				code[n] = codeAlphabet[int(b)%len(codeAlphabet)]
				n++
			}
		}
		if n == codeLen {
			return string(code[:]), nil
		}
	}
	return "", errors.New("read random bytes: too many out-of-range bytes")
}

// ValidateCustomCode checks a code chosen by the caller: 3 to 64
// characters of [A-Za-z0-9_-] that are not, in any case, one of the paths
// the service keeps for itself. Errors are *InvalidError with Field set to
// field and Code invalid_code.
func ValidateCustomCode(field, code string) error {
	ok := len(code) >= minCustomCodeLen && len(code) <= maxCodeLen
	for i := 0; ok && i < len(code); i++ {
		ok = isCodeByte(code[i])
	}
	if !ok {
		return Invalid("invalid_code", field, "%s must be %d to %d letters, "+
			"digits, '_' or '-'", field, minCustomCodeLen, maxCodeLen)
	}
	if reservedPath(code) {
		return Invalid("invalid_code", field,
			"%s %q is reserved for the service's own paths", field, code)
	}
	return nil
}

// reservedPath reports whether code names, in any case, a top-level path
// that the service or browsers use. Names with a '.' cannot pass the code
// charset; they are listed so that the list stays complete.
func reservedPath(code string) bool {
	switch strings.ToLower(code) {
	case "api", "healthz", "readyz", "metrics", "favicon.ico",
		"robots.txt", "static", "assets", "dashboard", "login", "logout",
		"admin", "app", "www", "docs", "openapi.json", ".well-known",
		"apple-app-site-association", "sitemap.xml", "humans.txt",
		"security.txt":
		return true
	}
	return false
}

// CodeFromPath returns the code named by a request path such as
// "/Xk3p9QaZ". One leading '/' is dropped, and so is any run of the
// trailing punctuation that auto-linkers glue onto links ("/.,)!;:"). What
// is left must be 1 to 64 characters of [A-Za-z0-9_-]; otherwise ok is
// false. The code is a substring of path: CodeFromPath does not allocate.
func CodeFromPath(path string) (code string, ok bool) {
	code = strings.TrimPrefix(path, "/")
	end := len(code)
	for end > 0 && isTrailingPunct(code[end-1]) {
		end--
	}
	code = code[:end]

	if code == "" || len(code) > maxCodeLen {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !isCodeByte(code[i]) {
			return "", false
		}
	}
	return code, true
}

// isTrailingPunct reports whether c is punctuation that auto-linkers leave
// at the end of a link and that no code contains.
func isTrailingPunct(c byte) bool {
	switch c {
	case '/', '.', ',', ')', '!', ';', ':':
		return true
	}
	return false
}

// isCodeByte reports whether c may appear in a code.
func isCodeByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-'
}
