package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the OpenAPI 3.0 description of /api/v1. It is written by
// hand next to the handlers; openapi_test.go checks that it names every
// route of routes() and nothing else, and the tests in cmd/linkd check
// real answers against it.
//
//go:embed openapi.json
var openAPIDoc string

// openAPI serves openAPIDoc. It needs no token: the document holds no
// data, and clients read it before they have one.
func openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(openAPIDoc))
}
