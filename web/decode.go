package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// decode reads the request body as JSON into v, at most limit bytes.
// Invalid UTF-8 is refused rather than silently replaced, so that what
// is stored (a message body, a lead id) is what the client sent.
func decode(c echo.Context, limit int64, v any) error {
	r := c.Request()
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	if err != nil {
		return decodeError(err)
	}
	if !utf8.Valid(raw) {
		return badJSON("The body is not valid UTF-8.", "")
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
	return nil
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			"The request body is over the limit.")
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
	if err != nil {
		return nil, shortener.Invalid("invalid_time", field,
			"%s must be an RFC 3339 time such as 2026-01-28T12:00:00Z", field)
	}
	t = t.UTC()
	return &t, nil
}
