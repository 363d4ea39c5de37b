package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/shortener"
)

// Body limits of the admin API.
const (
	maxBody      = 1 << 20
	maxBatchBody = 16 << 20
)

// decode reads the request body, one JSON object, into v, at most limit
// bytes. Invalid UTF-8, raw or as an unpaired surrogate escape, is
// refused rather than silently replaced, so that what is stored (a
// message body, a lead id) is what the client sent.
func decode(c echo.Context, limit int64, v any) error {
	return decodeBody(c, limit, v, false)
}

// decodeOptional is decode for a body the request may leave out: an
// empty one, however it was sent (no body, Content-Length: 0, chunked),
// leaves v as it was.
func decodeOptional(c echo.Context, limit int64, v any) error {
	return decodeBody(c, limit, v, true)
}

func decodeBody(c echo.Context, limit int64, v any, optional bool) error {
	r := c.Request()
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	if err != nil {
		return decodeError(err)
	}
	if optional && len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if !utf8.Valid(raw) {
		return badJSON("The body is not valid UTF-8.", "")
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return badJSON("The body must be a JSON object.", "")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooLarge(err) {
			return decodeError(err)
		}
		return badJSON("The body must hold one JSON object.", "")
	}
	if loneSurrogate(raw) {
		return badJSON("The body escapes half of a UTF-16 surrogate pair "+
			"(\\ud800 to \\udfff), which is not text.", "")
	}
	return nil
}

// loneSurrogate reports whether the valid JSON raw has a \u escape of a
// surrogate that is not part of a high-low pair, which encoding/json
// would turn into U+FFFD.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		hi := hex4(raw[i+1:])
		switch {
		case hi >= 0xdc00 && hi <= 0xdfff:
			return true
		case hi >= 0xd800 && hi <= 0xdbff:
			rest := raw[i+5:]
			if len(rest) < 6 || rest[0] != '\\' || rest[1] != 'u' {
				return true
			}
			if lo := hex4(rest[2:]); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 10 // past the low half
		default:
			i += 4
		}
	}
	return false
}

// hex4 returns the value of the four hex digits at the start of b, which
// valid JSON guarantees after \u.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func decodeError(err error) *apiError {
	var te *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			"The request body is over the limit.")
	case errors.As(err, &te) && te.Field == "":
		return badJSON("The body must be a JSON object.", "")
	case errors.As(err, &te):
		return badJSON(fmt.Sprintf("%s must be a JSON %s.", te.Field,
			jsonKind(te.Type.Kind().String())), te.Field)
	case errors.Is(err, io.EOF):
		return badJSON("The body is empty; a JSON object is expected.", "")
	}
	return badJSON("The body is not valid JSON.", "")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}

func badJSON(msg, field string) *apiError {
	e := newError(http.StatusBadRequest, "bad_json", msg)
	e.field = field
	return e
}

// parseTime parses an optional RFC 3339 time of field.
func parseTime(field string, s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil || !strictRFC3339(*s) {
		return nil, shortener.Invalid("invalid_time", field,
			"%s must be an RFC 3339 time such as 2026-01-28T12:00:00Z", field)
	}
	t = t.UTC()
	return &t, nil
}

// strictRFC3339 reports whether s, which time.Parse took as RFC 3339,
// keeps to what RFC 3339 allows where Go is lenient: a fraction after a
// dot, not a comma, and an offset of at most 23:59.
func strictRFC3339(s string) bool {
	if strings.Contains(s, ",") {
		return false
	}
	if n := len(s); s[n-1] == 'Z' || s[n-1] == 'z' {
		return true
	}
	off := s[len(s)-6:] // Parse has checked its shape: ±hh:mm
	return off[1:3] <= "23" && off[4:6] <= "59"
}
