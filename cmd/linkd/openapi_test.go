package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/akti/linkd/web"
)

// contract checks real requests to an instance and its real answers
// against the OpenAPI document that the instance serves.
type contract struct {
	t      *testing.T
	in     *instance
	doc    *openapi3.T
	router routers.Router
	// ok holds the routes, as "METHOD /path/{param}", whose success
	// answers were checked.
	ok map[string]bool
}

// exchange is one request and the status it must get.
type exchange struct {
	token  string // "" sends no Authorization header
	method string
	path   string
	body   any // nil, a raw string, or a value sent as JSON
	want   int
	// refused says that the document itself refuses the request, as it
	// must for the bad input that the exchange sends on purpose.
	refused bool
}

// newContract loads the document that in serves without a token, and
// checks that answer against the document too.
func newContract(t *testing.T, in *instance) *contract {
	t.Helper()
	resp, err := client.Get(in.admin + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %v", resp.StatusCode, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("served document is not valid OpenAPI: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The QR code is the API's one PNG answer; its body is read as bytes.
	openapi3filter.RegisterBodyDecoder("image/png",
		openapi3filter.FileBodyDecoder)

	c := &contract{t: t, in: in, doc: doc, router: router,
		ok: make(map[string]bool)}
	got := c.do(exchange{method: "GET", path: "/api/v1/openapi.json",
		want: 200}, nil)
	if !bytes.Equal(got, raw) {
		t.Error("GET /api/v1/openapi.json answered two documents")
	}
	return c
}

// bearer is the document's security check: a bearer token is present.
// Whether it is a right one is the server's to say (401).
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); !ok || tok == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// do sends x, checks the request, the status and the answer against the
// document, decodes a JSON answer into out when out is not nil, and
// returns the raw answer body.
func (c *contract) do(x exchange, out any) []byte {
	c.t.Helper()
	name := x.method + " " + x.path
	body := c.encode(x.body)
	req := c.request(x, body)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s: not in the document: %v", name, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearer,
		IncludeResponseStatus: true}
	reqIn := &openapi3filter.RequestValidationInput{Request: req,
		PathParams: params, Route: route, Options: opts}
	err = openapi3filter.ValidateRequest(context.Background(), reqIn)
	switch {
	case x.refused && err == nil:
		c.t.Errorf("%s: the document accepts the bad request", name)
	case !x.refused && err != nil:
		c.t.Errorf("%s: the document refuses the request: %v", name, err)
	}

	resp, raw := c.send(c.request(x, body))
	if resp.StatusCode != x.want {
		c.t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode,
			x.want, raw)
	}
	err = openapi3filter.ValidateResponse(context.Background(),
		&openapi3filter.ResponseValidationInput{
			RequestValidationInput: reqIn, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw)),
			Options: opts})
	if err != nil {
		c.t.Errorf("%s: answer %d disagrees with the document: %v\n%s",
			name, resp.StatusCode, err, raw)
	}
	if resp.StatusCode == http.StatusNoContent && len(raw) > 0 {
		c.t.Errorf("%s: 204 with a body: %q", name, raw)
	}
	if resp.StatusCode < 300 {
		c.ok[x.method+" "+route.Path] = true
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s: decode %q: %v", name, raw, err)
		}
	}
	return raw
}

func (c *contract) encode(body any) []byte {
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	return raw
}

func (c *contract) request(x exchange, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(x.method, c.in.admin+x.path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if x.token != "" {
		req.Header.Set("Authorization", "Bearer "+x.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (c *contract) send(req *http.Request) (*http.Response, []byte) {
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, raw
}

// admin sends an exchange with the admin token.
func (c *contract) admin(method, path string, body any, want int,
	out any) []byte {
	c.t.Helper()
	return c.do(exchange{token: testToken, method: method, path: path,
		body: body, want: want}, out)
}

// refused sends input that the document refuses too and checks the
// status and error code of the answer.
func (c *contract) refused(token, method, path string, body any, want int,
	code string) {
	c.t.Helper()
	c.expectError(exchange{token: token, method: method, path: path,
		body: body, want: want, refused: true}, code)
}

// invalid sends input that the document accepts but the server must
// refuse, with want and code.
func (c *contract) invalid(token, method, path string, body any, want int,
	code string) {
	c.t.Helper()
	c.expectError(exchange{token: token, method: method, path: path,
		body: body, want: want}, code)
}

func (c *contract) expectError(x exchange, code string) {
	c.t.Helper()
	raw := c.do(x, nil)
	if got, _ := errorCode(raw); got != code {
		c.t.Errorf("%s %s: error code %q, want %q: %s", x.method, x.path,
			got, code, raw)
	}
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// operations calls f with every operation of the document, in path order.
func (c *contract) operations(f func(method, path string,
	op *openapi3.Operation)) {
	paths := c.doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		ops := c.doc.Paths.Value(p).Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			f(m, p, ops[m])
		}
	}
}

// sample returns a body the document accepts for op, nil when op takes
// none, and fails the test when op needs a body that samples lacks.
func (c *contract) sample(op *openapi3.Operation,
	samples map[string]any) any {
	c.t.Helper()
	b, ok := samples[op.OperationID]
	if !ok && op.RequestBody != nil && op.RequestBody.Value.Required {
		c.t.Fatalf("%s: no sample body", op.OperationID)
	}
	return b
}

// sweep sends every operation that documents status, with path params
// set to id and a sample body, by token (or a key from tokens by
// operation id), and expects status.
func (c *contract) sweep(status int, code, token, id string,
	tokens map[string]string, samples map[string]any, refused bool) {
	c.t.Helper()
	c.operations(func(method, path string, op *openapi3.Operation) {
		if op.Responses.Status(status) == nil {
			return
		}
		tok := token
		if k, ok := tokens[op.OperationID]; ok {
			tok = k
		}
		c.expectError(exchange{token: tok, method: method,
			path: pathParam.ReplaceAllString(path, id),
			body: c.sample(op, samples), want: status, refused: refused},
			code)
	})
}

// checkCovered fails for each route of the server whose success answer
// was never checked.
func (c *contract) checkCovered() {
	c.t.Helper()
	routes := append((&web.Admin{}).Routes(), "GET /api/v1/openapi.json")
	for _, r := range routes {
		r = echoParam.ReplaceAllString(r, "{$1}")
		if !c.ok[r] {
			c.t.Errorf("%s: no success answer was checked", r)
		}
	}
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIContract walks every route of a real instance, success
// paths and the main error paths, and checks each request and answer
// against the served OpenAPI document.
func TestOpenAPIContract(t *testing.T) {
	in := start(t, "--retry-initial", "1h")
	c := newContract(t, in)

	links := c.linkRoutes()
	c.statsRoutes(links)
	c.messageRoutes(links)
	hooks := c.webhookRoutes()
	keyA, keyID := c.keyRoutes(links)
	c.errorSweeps(keyA, hooks)
	c.admin("DELETE", "/api/v1/keys/"+keyID, nil, 204, nil)
	c.admin("DELETE", "/api/v1/links/"+links.other, nil, 204, nil)
	c.admin("GET", "/api/v1/backup", nil, 200, nil)
	c.checkCovered()
}

// contractLinks are the links that the contract test makes.
type contractLinks struct {
	main     link // camp-a, clicked, with a lead id and an expiry
	plain    link // camp-a, no lead id, patched
	other    string
	shortURL string
}

func (c *contract) linkRoutes() contractLinks {
	var ls contractLinks
	c.admin("POST", "/api/v1/links", map[string]any{
		"url": "https://x.test/p?b=2#f", "campaignId": "camp-a",
		"phone": "+15551230001", "externalLeadId": "lead-1",
		"code": "oa-link", "expiresAt": "2030-01-02T03:04:05+02:00"},
		201, &ls.main)
	c.admin("POST", "/api/v1/links", map[string]any{
		"url": "https://x.test/plain", "campaignId": "camp-a",
		"phone": "+15551230002", "expiresAt": nil}, 201, &ls.plain)
	var batch struct{ Links []link }
	c.admin("POST", "/api/v1/links/batch", map[string]any{"links": []any{
		map[string]any{"url": "https://x.test/1", "campaignId": "camp-b",
			"phone": "+15551230003"},
		map[string]any{"url": "https://x.test/2", "campaignId": "camp-a",
			"phone": "+15551230004", "expiresAt": ""},
	}}, 201, &batch)
	ls.other, ls.shortURL = batch.Links[0].Code, ls.main.ShortURL

	var page struct{ NextCursor string }
	c.admin("GET", "/api/v1/links", nil, 200, nil)
	c.admin("GET", "/api/v1/links?campaignId=camp-a&limit=1", nil, 200, &page)
	if page.NextCursor == "" {
		c.t.Fatal("no nextCursor on a first page of one")
	}
	c.admin("GET", "/api/v1/links?limit=1&cursor="+page.NextCursor, nil, 200,
		nil)
	c.admin("GET", "/api/v1/links?phone=%2B15551230001&include=stats", nil,
		200, nil)
	c.admin("GET", "/api/v1/links/oa-link", nil, 200, nil)

	p := "/api/v1/links/" + ls.plain.Code
	c.admin("PATCH", p, map[string]any{"disabled": true,
		"expiresAt": "2031-01-01T00:00:00Z"}, 200, nil)
	c.admin("PATCH", p, map[string]any{"url": "https://y.test/",
		"expiresAt": nil, "disabled": false}, 200, nil)

	c.linkErrors(ls)
	return ls
}

func (c *contract) linkErrors(ls contractLinks) {
	const tok = testToken
	ok := map[string]any{"url": "https://x.test/", "campaignId": "camp-a",
		"phone": "+15551230009"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		m[k] = v
		return m
	}
	c.invalid(tok, "POST", "/api/v1/links", with("url", "ftp://x.test/"),
		422, "invalid_url")
	c.invalid(tok, "POST", "/api/v1/links", with("code", "api"), 422,
		"invalid_code")
	c.refused(tok, "POST", "/api/v1/links", with("phone", "12345"), 422,
		"invalid_phone")
	c.refused(tok, "POST", "/api/v1/links", with("campaignId", "a b"), 422,
		"invalid_campaign_id")
	c.refused(tok, "POST", "/api/v1/links", with("url", ""), 422,
		"missing_field")
	c.refused(tok, "POST", "/api/v1/links", with("expiresAt", "soon"), 422,
		"invalid_time")
	c.invalid(tok, "POST", "/api/v1/links", with("code", "oa-link"), 409,
		"code_taken")
	c.refused(tok, "POST", "/api/v1/links", `{"url": `, 400, "bad_json")
	c.refused(tok, "POST", "/api/v1/links", `{"url": 5}`, 400, "bad_json")
	c.refused(tok, "POST", "/api/v1/links",
		`{"url": "`+strings.Repeat("a", 1<<20)+`"}`, 413, "body_too_large")

	raw := c.do(exchange{token: tok, method: "POST",
		path: "/api/v1/links/batch", body: map[string]any{
			"links": []any{ok, with("url", "mailto:x@x.test")}},
		want: 422}, nil)
	var e struct{ Error struct{ Index *int } }
	if json.Unmarshal(raw, &e); e.Error.Index == nil || *e.Error.Index != 1 {
		c.t.Errorf("batch error without index 1: %s", raw)
	}
	c.invalid(tok, "POST", "/api/v1/links/batch", map[string]any{
		"links": []any{with("code", "dup-1"), with("code", "dup-1")}}, 409,
		"code_taken")
	c.refused(tok, "POST", "/api/v1/links/batch",
		map[string]any{"links": []any{}}, 422, "invalid_batch")

	c.refused(tok, "GET", "/api/v1/links?limit=0", nil, 422, "invalid_limit")
	c.refused(tok, "GET", "/api/v1/links?limit=x", nil, 422, "invalid_limit")
	c.invalid(tok, "GET", "/api/v1/links?cursor=%21%21", nil, 422,
		"invalid_cursor")
	c.invalid(tok, "PATCH", "/api/v1/links/"+ls.plain.Code,
		map[string]any{"url": "nope"}, 422, "invalid_url")
	c.refused(tok, "PATCH", "/api/v1/links/"+ls.plain.Code,
		map[string]any{"disabled": "yes"}, 400, "bad_json")
}

func (c *contract) statsRoutes(ls contractLinks) {
	in := c.in
	in.tap("GET", "/oa-link", "")
	in.tap("GET", "/oa-link", "curl/8.5.0")
	waitFor(c.t, "clicks counted", func() bool {
		var s struct{ Clicks, BotClicks int }
		in.mustCall(200, "GET", "/api/v1/links/oa-link/stats", nil, &s)
		return s.Clicks == 1 && s.BotClicks == 1
	})

	var visits struct{ Visits []any }
	c.admin("GET", "/api/v1/links/oa-link/stats", nil, 200, nil)
	c.admin("GET", "/api/v1/links/"+ls.plain.Code+"/stats", nil, 200, nil)
	c.admin("GET", "/api/v1/links/oa-link/visits", nil, 200, &visits)
	if len(visits.Visits) == 0 {
		c.t.Error("no visits to check")
	}
	c.admin("GET", "/api/v1/links/"+ls.plain.Code+"/visits", nil, 200, nil)
	c.admin("GET", "/api/v1/links/oa-link/series", nil, 200, nil)
	raw := c.admin("GET", "/api/v1/links/oa-link/qr.png", nil, 200, nil)
	if !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
		c.t.Error("qr.png is not a PNG")
	}
	c.admin("GET", "/api/v1/links?include=stats", nil, 200, nil)
	c.admin("GET", "/api/v1/campaigns", nil, 200, nil)
	c.admin("GET", "/api/v1/campaigns/camp-a/stats", nil, 200, nil)
	c.admin("GET", "/api/v1/campaigns/no-data/stats", nil, 200, nil)
	c.admin("GET", "/api/v1/campaigns/camp-a/series", nil, 200, nil)
}

func (c *contract) messageRoutes(ls contractLinks) {
	const tok = testToken
	msg := map[string]any{"id": "oa-msg-1", "campaignId": "camp-a",
		"phone": "+15551230001", "externalLeadId": "lead-1",
		"body":   "Hi, see " + ls.shortURL + " and https://example.com/x",
		"sentAt": "2026-01-28T12:00:00-05:00"}
	var sent struct{ CampaignLinks []string }
	c.admin("POST", "/api/v1/messages", msg, 201, &sent)
	if len(sent.CampaignLinks) != 1 {
		c.t.Errorf("campaignLinks %q", sent.CampaignLinks)
	}
	c.admin("POST", "/api/v1/messages", map[string]any{
		"campaignId": "camp-a", "phone": "+15551230002", "body": "no links"},
		201, nil)
	c.admin("POST", "/api/v1/messages/oa-msg-1/delivered",
		map[string]any{"deliveredAt": "2026-01-28T12:00:05Z"}, 200, nil)
	var dup struct{ Duplicate bool }
	c.admin("POST", "/api/v1/messages/oa-msg-1/delivered", nil, 200, &dup)
	if !dup.Duplicate {
		c.t.Error("repeated receipt not a duplicate")
	}
	c.admin("POST", "/api/v1/messages/shorten", map[string]any{
		"campaignId": "camp-a", "phone": "+15551230005",
		"body": "Go to https://example.com/a?b=1 now"}, 200, nil)

	c.invalid(tok, "POST", "/api/v1/messages", msg, 409, "message_exists")
	c.refused(tok, "POST", "/api/v1/messages", map[string]any{
		"campaignId": "camp-a", "phone": "+15551230002"}, 422, "missing_field")
	c.refused(tok, "POST", "/api/v1/messages", map[string]any{
		"campaignId": "camp-a", "phone": "+15551230002", "body": "x",
		"sentAt": "yesterday"}, 422, "invalid_time")
	c.refused(tok, "POST", "/api/v1/messages/oa-msg-1/delivered",
		map[string]any{"deliveredAt": "later"}, 422, "invalid_time")
	c.refused(tok, "POST", "/api/v1/messages/shorten", map[string]any{
		"campaignId": "camp-a", "phone": "555", "body": "x"}, 422,
		"invalid_phone")
}

// contractHooks are the webhook endpoint and delivery that the error
// sweeps use.
type contractHooks struct{ endpoint, delivery string }

func (c *contract) webhookRoutes() contractHooks {
	rc := newReceiver(c.t)
	rc.answer(func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	var global endpoint
	c.admin("POST", "/api/v1/webhooks", map[string]any{"url": rc.URL(),
		"events": nil, "description": "every campaign"}, 201, &global)
	c.admin("DELETE", "/api/v1/webhooks/"+global.ID, nil, 204, nil)
	ep := c.in.register(rc, "camp-a", "lead.link_clicked")
	p := "/api/v1/webhooks/" + ep.ID

	var test struct{ DeliveryID string }
	c.admin("POST", p+"/test", nil, 202, &test)
	d := p + "/deliveries/" + test.DeliveryID
	waitFor(c.t, "failed attempt", func() bool {
		var s deliveryState
		c.in.mustCall(200, "GET", d, nil, &s)
		return s.LastStatusCode != nil
	})
	c.admin("GET", d, nil, 200, nil)
	c.admin("GET", p+"/deliveries?status=pending&limit=1", nil, 200, nil)
	c.admin("POST", d+"/retry", nil, 202, nil)
	waitFor(c.t, "retried delivery", func() bool {
		return len(c.in.deliveriesOf(ep.ID, "succeeded")) == 1
	})
	c.admin("GET", d, nil, 200, nil)
	c.admin("POST", p+"/test", nil, 202, nil)
	var page struct{ NextCursor string }
	c.admin("GET", p+"/deliveries?limit=1", nil, 200, &page)
	if page.NextCursor == "" {
		c.t.Fatal("no nextCursor on a first page of one")
	}
	c.admin("GET", p+"/deliveries?cursor="+page.NextCursor, nil, 200, nil)

	c.admin("GET", "/api/v1/webhooks", nil, 200, nil)
	c.admin("GET", p, nil, 200, nil)
	c.admin("PATCH", p, map[string]any{"description": "clicks",
		"events": []string{"lead.link_clicked", "lead.link_sent"}}, 200, nil)
	c.admin("POST", p+"/rotate-secret", nil, 200, nil)
	c.disabledWebhook()
	c.webhookErrors(p)
	return contractHooks{ep.ID, test.DeliveryID}
}

// disabledWebhook checks the answer for an endpoint that linkd disabled.
func (c *contract) disabledWebhook() {
	rc := newReceiver(c.t)
	rc.answer(func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusGone)
	})
	ep := c.in.register(rc, "camp-a")
	c.admin("POST", "/api/v1/webhooks/"+ep.ID+"/test", nil, 202, nil)
	waitFor(c.t, "endpoint disabled", func() bool {
		var got endpoint
		c.in.mustCall(200, "GET", "/api/v1/webhooks/"+ep.ID, nil, &got)
		return got.DisabledReason != ""
	})
	c.admin("GET", "/api/v1/webhooks/"+ep.ID, nil, 200, nil)
	c.admin("GET", "/api/v1/webhooks", nil, 200, nil)
}

func (c *contract) webhookErrors(p string) {
	const tok = testToken
	c.invalid(tok, "POST", "/api/v1/webhooks",
		map[string]any{"url": "ftp://x.test/"}, 422, "invalid_url")
	c.refused(tok, "POST", "/api/v1/webhooks", map[string]any{
		"url": "http://127.0.0.1:9/", "events": []string{"lead.nope"}}, 422,
		"invalid_event_type")
	c.refused(tok, "POST", "/api/v1/webhooks", map[string]any{
		"url": "http://127.0.0.1:9/", "campaignId": "a b"}, 422,
		"invalid_campaign_id")
	c.refused(tok, "PATCH", p, map[string]any{"events": []string{}}, 422,
		"invalid_event_type")
	c.refused(tok, "PATCH", p, `{"events": "all"}`, 400, "bad_json")
	c.refused(tok, "GET", p+"/deliveries?status=lost", nil, 422,
		"invalid_status")
	c.invalid(tok, "GET", p+"/deliveries?cursor=%21%21", nil, 422,
		"invalid_cursor")
	// Base64 that decodes, but to no key of this endpoint's deliveries.
	c.invalid(tok, "GET", p+"/deliveries?cursor=zzz", nil, 422,
		"invalid_cursor")
}

// keyRoutes makes a key for camp-a and returns it with its id.
func (c *contract) keyRoutes(ls contractLinks) (key, id string) {
	const tok = testToken
	var k struct{ ID, Key string }
	c.admin("POST", "/api/v1/keys", map[string]any{"name": "acme",
		"campaigns": []string{"camp-a", "camp-c"}}, 201, &k)
	c.admin("GET", "/api/v1/keys", nil, 200, nil)

	as := func(path string, want int) {
		c.do(exchange{token: k.Key, method: "GET", path: path, want: want},
			nil)
	}
	as("/api/v1/links/oa-link", 200)
	as("/api/v1/links?campaignId=camp-b", 200)
	as("/api/v1/campaigns", 200)
	as("/api/v1/webhooks", 200)
	c.invalid(k.Key, "GET", "/api/v1/links/"+ls.other, nil, 404, "not_found")
	c.invalid(k.Key, "GET", "/api/v1/campaigns/camp-b/stats", nil, 404,
		"not_found")

	c.refused(tok, "POST", "/api/v1/keys", map[string]any{"name": "",
		"campaigns": []string{"camp-a"}}, 422, "invalid_name")
	c.refused(tok, "POST", "/api/v1/keys", map[string]any{"name": "n",
		"campaigns": []string{}}, 422, "missing_field")
	c.refused(tok, "POST", "/api/v1/keys", map[string]any{"name": "n",
		"campaigns": []string{"a b"}}, 422, "invalid_campaign_id")
	c.invalid(k.Key, "POST", "/api/v1/webhooks",
		map[string]any{"url": "http://127.0.0.1:9/"}, 422, "missing_field")
	return k.Key, k.ID
}

// errorSweeps sends every documented 401, 403 and 404 case.
func (c *contract) errorSweeps(keyA string, h contractHooks) {
	link := map[string]any{"url": "https://x.test/", "campaignId": "camp-b",
		"phone": "+15551230009"}
	msg := map[string]any{"campaignId": "camp-b", "phone": "+15551230009",
		"body": "hi"}
	samples := map[string]any{
		"createLink":     link,
		"createLinks":    map[string]any{"links": []any{link}},
		"updateLink":     map[string]any{"disabled": false},
		"sendMessage":    msg,
		"shortenMessage": msg,
		"createWebhook": map[string]any{"url": "http://127.0.0.1:9/",
			"campaignId": "camp-b"},
		"updateWebhook": map[string]any{"description": "x"},
		"createKey": map[string]any{"name": "n",
			"campaigns": []string{"camp-b"}},
	}
	c.sweep(401, "unauthorized", "", "x", nil, samples, true)
	c.sweep(401, "unauthorized", "wrong-token", "x", nil, samples, false)
	c.sweep(401, "unauthorized", web.KeyPrefix+"unknown", "x", nil, samples,
		false)
	c.sweep(403, "forbidden", keyA, "x", nil, samples, false)
	// The admin sees every campaign, so an unknown one is 404 to a key only.
	keyed := map[string]string{"campaignStats": keyA, "campaignSeries": keyA}
	c.sweep(404, "not_found", testToken, "nope", keyed, samples, false)

	d := "/api/v1/webhooks/" + h.endpoint + "/deliveries/"
	c.invalid(testToken, "GET", d+"nope", nil, 404, "not_found")
	c.invalid(testToken, "POST", d+"nope/retry", nil, 404, "not_found")

	// Another campaign's endpoint is 404 to a key.
	var b endpoint
	c.admin("POST", "/api/v1/webhooks", map[string]any{
		"url": "http://127.0.0.1:9/", "campaignId": "camp-b"}, 201, &b)
	c.invalid(keyA, "GET", "/api/v1/webhooks/"+b.ID, nil, 404, "not_found")
}
