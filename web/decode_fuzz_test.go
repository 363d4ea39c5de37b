package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzDecode feeds arbitrary bodies to the request decoder: it never
// panics, and every refusal is a 400 or 413 in the spec's shape.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"url":"https://x.test/","campaignId":"c"}`,
		`{"links":[{}]}`, `{"url":5}`, `[]`, `{} {}`, ``, `{"expiresAt":null}`,
		`{"url":"\u0000"}`, `{"a":` + strings.Repeat("[", 100)} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		c := e.NewContext(req, httptest.NewRecorder())
		var v struct {
			linkRequest
			Links []linkRequest `json:"links"`
		}
		err := decode(c, 4<<10, &v)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || (ae.status != 400 && ae.status != 413) ||
			ae.code == "" || ae.message == "" {
			t.Fatalf("decode(%q) = %v", body, err)
		}
	})
}
