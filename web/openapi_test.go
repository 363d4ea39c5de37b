package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(openAPIDoc))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	return doc
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIDescribesEveryRoute checks that the document describes each
// route of routes() with its method, and nothing that the server lacks.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)

	var served []string
	for _, r := range (&Admin{}).Routes() {
		served = append(served, echoParam.ReplaceAllString(r, "{$1}"))
	}
	served = append(served, "GET /api/v1/openapi.json")

	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(described)
	if diff := cmp.Diff(served, described); diff != "" {
		t.Errorf("routes (-served +described):\n%s", diff)
	}
}

// TestOpenAPIOperations checks what every operation must have: an id, a
// tag, and the spec's error shape for each error answer.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	errShape := doc.Components.Schemas["Error"]
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || len(op.Tags) != 1 || !tags[op.Tags[0]] {
				t.Errorf("%s: operationId %q, tags %q", name, op.OperationID,
					op.Tags)
			}
			for status, resp := range op.Responses.Map() {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				mt := resp.Value.Content.Get("application/json")
				if mt == nil || mt.Schema.Value != errShape.Value {
					t.Errorf("%s: %s is not the error shape", name, status)
				}
			}
		}
	}
}

// TestOpenAPIServed checks that the document is served without a token.
func TestOpenAPIServed(t *testing.T) {
	a := &Admin{Log: slog.New(slog.DiscardHandler), Now: time.Now}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET",
		"/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Body.String() != openAPIDoc {
		t.Error("the served document is not the embedded one")
	}
}
