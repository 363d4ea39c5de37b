package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCreateAndFollow(t *testing.T) {
	in := start(t)
	l := in.createLink("https://example.com/p?b=2#f", "camp-1", "+15551230001")
	if len(l.Code) != 8 || l.ShortURL != in.public+"/"+l.Code {
		t.Fatalf("link = %+v", l)
	}

	tests := []struct {
		name, method, path string
		status             int
		location           string
	}{
		{"plain", "GET", "/" + l.Code, 302, "https://example.com/p?b=2#f"},
		{"query appended before fragment", "GET", "/" + l.Code + "?a=1",
			302, "https://example.com/p?b=2&a=1#f"},
		{"raw UTF-8 in the query escaped", "GET", "/" + l.Code + "?a=\u00e9",
			302, "https://example.com/p?b=2&a=%C3%A9#f"},
		{"head", "HEAD", "/" + l.Code, 302, "https://example.com/p?b=2#f"},
		{"trailing dot", "GET", "/" + l.Code + ".", 302,
			"https://example.com/p?b=2#f"},
		{"trailing paren and bang", "GET", "/" + l.Code + ")!", 302,
			"https://example.com/p?b=2#f"},
		{"trailing slash", "GET", "/" + l.Code + "/", 302,
			"https://example.com/p?b=2#f"},
		{"case matters", "GET", "/" + strings.ToLower(l.Code) + "x", 404, ""},
		{"unknown", "GET", "/NoSuchCode", 404, ""},
		{"nested path", "GET", "/" + l.Code + "/more", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := in.tap(tt.method, tt.path, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			cc := resp.Header.Get("Cache-Control")
			if cc != "private, no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
		})
	}
}

func TestDestinationByteForByte(t *testing.T) {
	in := start(t)
	dests := map[string]string{
		"https://x.test/a%20b?z=1&a=2&a=1#Frag%2F": "https://x.test/a%20b?z=1&a=2&a=1#Frag%2F",
		"HTTPS://Example.COM/Path/?Q=%zz":          "HTTPS://Example.COM/Path/?Q=%zz",
		"https://exämple.com/päth?q=ü":             "https://xn--exmple-cua.com/p%C3%A4th?q=%C3%BC",
	}
	for in0, want := range dests {
		l := in.createLink(in0, "c", "+15551230002")
		if l.URL != want {
			t.Errorf("stored %q as %q, want %q", in0, l.URL, want)
		}
		resp := in.tap("GET", "/"+l.Code, "")
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("Location for %q = %q, want %q", in0, got, want)
		}
	}
}

func TestRefusedLinksStoreNothing(t *testing.T) {
	in := start(t)
	taken := in.createLink("https://x.test/", "other", "+15551230003")
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url": "https://x.test/", "campaignId": "other",
		"phone": "+15551230003", "code": "custom-taken"}, nil)
	valid := func(change map[string]any) map[string]any {
		m := map[string]any{"url": "https://x.test/a", "campaignId": "refused",
			"phone": "+15551230004"}
		for k, v := range change {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"not json", "{", 400, "bad_json", ""},
		{"wrong type", `{"url": 5}`, 400, "bad_json", "url"},
		{"array body", `[]`, 400, "bad_json", ""},
		{"two objects", `{} {}`, 400, "bad_json", ""},
		{"null body", `null`, 400, "bad_json", ""},
		{"string body", `"x"`, 400, "bad_json", ""},
		{"lone high surrogate", `{"url":"https://x.test/\ud800","campaignId":"refused",` +
			`"phone":"+15551230004"}`, 400, "bad_json", ""},
		{"lone low surrogate in lead id", `{"url":"https://x.test/","campaignId":"refused",` +
			`"phone":"+15551230004","externalLeadId":"lead-\udc00"}`, 400, "bad_json", ""},
		{"reversed surrogate pair", `{"url":"https://x.test/","campaignId":"refused",` +
			`"phone":"+15551230004","externalLeadId":"\udc00\ud800"}`, 400, "bad_json", ""},
		{"missing url", valid(map[string]any{"url": ""}), 422, "missing_field", "url"},
		{"ftp", valid(map[string]any{"url": "ftp://x.test/"}), 422, "invalid_url", "url"},
		{"javascript", valid(map[string]any{"url": "JaVaScRiPt:alert(1)"}), 422, "invalid_url", "url"},
		{"tab in scheme", valid(map[string]any{"url": "java\tscript:alert(1)"}), 422, "invalid_url", "url"},
		{"relative", valid(map[string]any{"url": "/just/a/path"}), 422, "invalid_url", "url"},
		{"scheme relative", valid(map[string]any{"url": "//evil.test/"}), 422, "invalid_url", "url"},
		{"userinfo", valid(map[string]any{"url": "https://u:p@x.test/"}), 422, "invalid_url", "url"},
		{"crlf", valid(map[string]any{"url": "https://x.test/\r\nSet-Cookie: a=b"}), 422, "invalid_url", "url"},
		{"backslash", valid(map[string]any{"url": "https://evil.test\\@good.test/"}), 422, "invalid_url", "url"},
		{"too long", valid(map[string]any{"url": "https://x.test/" + strings.Repeat("a", 8<<10)}), 422, "invalid_url", "url"},
		{"phone no plus", valid(map[string]any{"phone": "15551230004"}), 422, "invalid_phone", "phone"},
		{"phone leading zero", valid(map[string]any{"phone": "+05551230004"}), 422, "invalid_phone", "phone"},
		{"phone too long", valid(map[string]any{"phone": "+1234567890123456"}), 422, "invalid_phone", "phone"},
		{"missing phone", valid(map[string]any{"phone": ""}), 422, "missing_field", "phone"},
		{"campaign charset", valid(map[string]any{"campaignId": "a b"}), 422, "invalid_campaign_id", "campaignId"},
		{"campaign too long", valid(map[string]any{"campaignId": strings.Repeat("c", 129)}), 422, "invalid_campaign_id", "campaignId"},
		{"code too short", valid(map[string]any{"code": "ab"}), 422, "invalid_code", "code"},
		{"code charset", valid(map[string]any{"code": "a.b.c"}), 422, "invalid_code", "code"},
		{"reserved code", valid(map[string]any{"code": "healthz"}), 422, "invalid_code", "code"},
		{"reserved api", valid(map[string]any{"code": "API"}), 422, "invalid_code", "code"},
		{"code taken", valid(map[string]any{"code": "custom-taken"}), 409, "code_taken", "code"},
		{"generated code taken", valid(map[string]any{"code": taken.Code}), 409, "code_taken", "code"},
		{"bad expiry", valid(map[string]any{"expiresAt": "tomorrow"}), 422, "invalid_time", "expiresAt"},
		{"lead id too long", valid(map[string]any{"externalLeadId": strings.Repeat("x", 257)}), 422, "invalid_external_lead_id", "externalLeadId"},
		{"lead id too long in characters", valid(map[string]any{"externalLeadId": strings.Repeat("é", 257)}), 422, "invalid_external_lead_id", "externalLeadId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := in.adminCall("POST", "/api/v1/links", tt.body, nil)
			code, field := errorCode(raw)
			if status != tt.status || code != tt.code || field != tt.field {
				t.Errorf("got %d %s %q, want %d %s %q: %s", status, code,
					field, tt.status, tt.code, tt.field, raw)
			}
		})
	}
	var page struct{ Links []link }
	in.mustCall(200, "GET", "/api/v1/links?campaignId=refused", nil, &page)
	if len(page.Links) != 0 {
		t.Errorf("refused requests stored %d links", len(page.Links))
	}
	var all struct{ Links []link }
	in.mustCall(200, "GET", "/api/v1/links", nil, &all)
	if len(all.Links) != 2 {
		t.Errorf("store holds %d links, want the 2 created", len(all.Links))
	}
	var stats struct{ Links int }
	in.mustCall(200, "GET", "/api/v1/campaigns/refused/stats", nil, &stats)
	if stats.Links != 0 {
		t.Errorf("campaign stats count %d links", stats.Links)
	}
}

func TestBatch(t *testing.T) {
	in := start(t)
	items := make([]map[string]any, 10000)
	for i := range items {
		items[i] = map[string]any{"url": fmt.Sprintf("https://x.test/%d", i),
			"campaignId": "bulk", "phone": fmt.Sprintf("+1555%07d", i)}
	}

	t.Run("one bad item refuses all", func(t *testing.T) {
		bad := append([]map[string]any(nil), items...)
		bad[7321] = map[string]any{"url": "nope", "campaignId": "bulk",
			"phone": "+15550000000"}
		status, raw := in.adminCall("POST", "/api/v1/links/batch",
			map[string]any{"links": bad}, nil)
		var e struct {
			Error struct {
				Code  string
				Field string
				Index *int
			}
		}
		json.Unmarshal(raw, &e)
		if status != 422 || e.Error.Index == nil || *e.Error.Index != 7321 ||
			e.Error.Field != "url" {
			t.Fatalf("status %d: %s", status, raw)
		}
		var stats struct{ Links int }
		in.mustCall(200, "GET", "/api/v1/campaigns/bulk/stats", nil, &stats)
		if stats.Links != 0 {
			t.Fatalf("refused batch stored %d links", stats.Links)
		}
	})

	t.Run("an item of the wrong shape is named by its index", func(t *testing.T) {
		ok := `{"url":"https://x.test/","campaignId":"bulk","phone":"+15550000001"}`
		for _, tt := range []struct{ body, field string }{
			{`{"links":[` + ok + `,` + ok + `,1]}`, "links"},
			{`{"links":[` + ok + `,` + ok + `,{"url":5}]}`, "url"},
			{`{"links":[` + ok + `,` + ok + `,null]}`, "links"},
		} {
			status, raw := in.adminCall("POST", "/api/v1/links/batch",
				tt.body, nil)
			code, field := errorCode(raw)
			if status != 400 || code != "bad_json" || field != tt.field ||
				!strings.Contains(string(raw), `"index":2`) {
				t.Errorf("%s: %d %s", tt.body, status, raw)
			}
		}
		var stats struct{ Links int }
		in.mustCall(200, "GET", "/api/v1/campaigns/bulk/stats", nil, &stats)
		if stats.Links != 0 {
			t.Fatalf("refused batch stored %d links", stats.Links)
		}
	})

	t.Run("duplicate custom codes refuse all", func(t *testing.T) {
		dup := []map[string]any{
			{"url": "https://x.test/", "campaignId": "bulk",
				"phone": "+15550000001", "code": "same-code"},
			{"url": "https://x.test/", "campaignId": "bulk",
				"phone": "+15550000002", "code": "same-code"},
		}
		status, raw := in.adminCall("POST", "/api/v1/links/batch",
			map[string]any{"links": dup}, nil)
		if status != 409 || !strings.Contains(string(raw), `"index":1`) {
			t.Fatalf("status %d: %s", status, raw)
		}
	})

	t.Run("ten thousand", func(t *testing.T) {
		var out struct{ Links []link }
		in.mustCall(201, "POST", "/api/v1/links/batch",
			map[string]any{"links": items}, &out)
		if len(out.Links) != len(items) {
			t.Fatalf("got %d links", len(out.Links))
		}
		seen := make(map[string]bool)
		for i, l := range out.Links {
			if l.URL != items[i]["url"] || seen[l.Code] {
				t.Fatalf("item %d: %+v", i, l)
			}
			seen[l.Code] = true
		}
		var stats struct{ Links int }
		in.mustCall(200, "GET", "/api/v1/campaigns/bulk/stats", nil, &stats)
		if stats.Links != len(items) {
			t.Fatalf("campaign has %d links", stats.Links)
		}
	})

	t.Run("over ten thousand", func(t *testing.T) {
		over := append(items, items[0])
		status, raw := in.adminCall("POST", "/api/v1/links/batch",
			map[string]any{"links": over}, nil)
		if code, _ := errorCode(raw); status != 422 || code != "invalid_batch" {
			t.Fatalf("status %d: %s", status, raw)
		}
	})
}

func TestChangesVisibleAtOnce(t *testing.T) {
	in := start(t)
	l := in.createLink("https://x.test/old", "c", "+15551230005")
	path := "/api/v1/links/" + l.Code
	follow := func() (int, string) {
		resp := in.tap("GET", "/"+l.Code, "facebookexternalhit/1.1")
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if s, loc := follow(); s != 302 || loc != "https://x.test/old" {
		t.Fatalf("before: %d %q", s, loc)
	}

	in.mustCall(200, "PATCH", path, map[string]any{"url": "https://x.test/new"}, nil)
	if s, loc := follow(); s != 302 || loc != "https://x.test/new" {
		t.Fatalf("after url change: %d %q", s, loc)
	}
	in.mustCall(200, "PATCH", path, map[string]any{"disabled": true}, nil)
	if s, _ := follow(); s != 410 {
		t.Fatalf("disabled: %d", s)
	}
	in.mustCall(200, "PATCH", path, map[string]any{"disabled": false,
		"expiresAt": "2001-01-01T00:00:00Z"}, nil)
	if s, _ := follow(); s != 410 {
		t.Fatalf("expired: %d", s)
	}
	in.mustCall(200, "PATCH", path, map[string]any{"expiresAt": nil}, nil)
	if s, _ := follow(); s != 302 {
		t.Fatalf("expiry cleared: %d", s)
	}
	in.mustCall(204, "DELETE", path, nil, nil)
	if s, _ := follow(); s != 404 {
		t.Fatalf("deleted: %d", s)
	}
	in.mustCall(404, "DELETE", path, nil, nil)
	in.mustCall(404, "PATCH", path, map[string]any{"disabled": true}, nil)
	in.mustCall(404, "GET", path, nil, nil)
}

func TestListPages(t *testing.T) {
	in := start(t)
	for i := range 25 {
		in.createLink("https://x.test/", "pages", fmt.Sprintf("+1555000%04d", i%5))
	}
	in.createLink("https://x.test/", "elsewhere", "+15550000000")

	collect := func(query string) []string {
		var codes []string
		cursor := ""
		for range 20 {
			var page struct {
				Links      []link
				NextCursor string
			}
			q := query + "&limit=10"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			in.mustCall(200, "GET", "/api/v1/links?"+q, nil, &page)
			for _, l := range page.Links {
				codes = append(codes, l.Code)
			}
			if cursor = page.NextCursor; cursor == "" {
				return codes
			}
		}
		t.Fatalf("%s: cursor never ended", query)
		return nil
	}
	if got := collect("campaignId=pages"); len(got) != 25 {
		t.Errorf("campaign listing gave %d links", len(got))
	}
	if got := collect("campaignId=pages&phone=%2B15550000003"); len(got) != 5 {
		t.Errorf("campaign+phone listing gave %d links", len(got))
	}
	if got := collect("phone=%2B15550000000"); len(got) != 6 {
		t.Errorf("phone listing gave %d links", len(got))
	}
	status, raw := in.adminCall("GET", "/api/v1/links?limit=1001", nil, nil)
	if code, _ := errorCode(raw); status != 422 || code != "invalid_limit" {
		t.Errorf("limit 1001: %d %s", status, raw)
	}
	status, raw = in.adminCall("GET", "/api/v1/links?cursor=!!!", nil, nil)
	if status != 422 {
		t.Errorf("bad cursor: %d %s", status, raw)
	}
}

func TestAuthAndLimits(t *testing.T) {
	in := start(t)
	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"no token", "", "GET", "/api/v1/links", nil, 401, "unauthorized"},
		{"wrong token", "nope-nope-nope-nope", "GET", "/api/v1/links", nil, 401, "unauthorized"},
		{"unknown route", testToken, "GET", "/api/v1/nothing", nil, 404, "not_found"},
		{"body over 1 MiB", testToken, "POST", "/api/v1/links",
			`{"url":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "body_too_large"},
		{"empty body", testToken, "POST", "/api/v1/links", "", 400, "bad_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := in.call(tt.token, tt.method, tt.path, tt.body, nil)
			if code, _ := errorCode(raw); status != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s: %.200s", status, code,
					tt.status, tt.code, raw)
			}
		})
	}
	for _, l := range []string{in.public, in.admin} {
		resp, err := client.Get(l + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s/healthz: %v %v", l, resp, err)
		}
		resp.Body.Close()
	}
	resp, err := client.Get(in.admin + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := in.tap("GET", "/api/v1/links", ""); r.StatusCode != 404 {
		t.Errorf("public listener serves the API: %d", r.StatusCode)
	}
}

func TestGeneratedTokenSurvivesRestart(t *testing.T) {
	db := t.TempDir() + "/linkd.db"
	first := startOn(t, db)
	out := first.out.String()
	_, tok, ok := strings.Cut(out, "admin token (shown once, keep it): ")
	if !ok {
		t.Fatalf("no token printed: %q", out)
	}
	tok = strings.TrimSpace(strings.SplitN(tok, "\n", 2)[0])
	first.stop()

	second := startOn(t, db)
	if strings.Contains(second.out.String(), "admin token") {
		t.Errorf("restart printed a token again: %q", second.out.String())
	}
	if s, raw := second.call(tok, "GET", "/api/v1/links", nil, nil); s != 200 {
		t.Errorf("kept token refused: %d %s", s, raw)
	}
}

func TestGivenTokenReplacesStored(t *testing.T) {
	db := t.TempDir() + "/linkd.db"
	const replaced = "admin token replaced"
	first := startOn(t, db, "--admin-token", testToken)
	if strings.Contains(first.out.String(), replaced) {
		t.Errorf("first start said a token was replaced: %q",
			first.out.String())
	}
	first.stop()

	const newer = "newer-admin-token-0123456789"
	second := startOn(t, db, "--admin-token", newer)
	if !strings.Contains(second.out.String(), replaced) {
		t.Errorf("replacing start did not say so: %q", second.out.String())
	}
	if s, raw := second.call(testToken, "GET", "/api/v1/links", nil,
		nil); s != 401 {
		t.Errorf("replaced token: %d %s, want 401", s, raw)
	}
	if s, raw := second.call(newer, "GET", "/api/v1/links", nil,
		nil); s != 200 {
		t.Errorf("given token: %d %s, want 200", s, raw)
	}
	second.stop()

	third := startOn(t, db, "--admin-token", newer)
	if strings.Contains(third.out.String(), replaced) {
		t.Errorf("the same token again said replaced: %q",
			third.out.String())
	}
}

func TestConfiguration(t *testing.T) {
	db := t.TempDir() + "/linkd.db"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad duration flag", []string{"--dedup-window", "soon"}, nil,
			`bad configuration: --dedup-window: "soon" is not a positive duration`},
		{"bad env", nil, map[string]string{"LINKD_RETRY_INITIAL": "-1s"},
			`bad configuration: LINKD_RETRY_INITIAL: "-1s"`},
		{"flag wins over env", []string{"--public-addr", "nope"},
			map[string]string{"LINKD_PUBLIC_ADDR": "127.0.0.1:0"},
			`bad configuration: --public-addr: "nope" is not host:port`},
		{"bad base url", []string{"--base-url", "link.akti.fyi"}, nil,
			`bad configuration: --base-url`},
		{"short token", []string{"--admin-token", "short"}, nil,
			`bad configuration: --admin-token: must be at least 16`},
		{"bad bool", nil, map[string]string{"LINKD_WEBHOOK_ALLOW_PRIVATE": "maybe"},
			`bad configuration: LINKD_WEBHOOK_ALLOW_PRIVATE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--db", db}, tt.args...)
			getenv := func(k string) string { return tt.env[k] }
			err := run(t.Context(), args, getenv, &syncBuffer{}, &syncBuffer{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestDatabaseLocked(t *testing.T) {
	in := start(t)
	err := run(t.Context(), []string{"serve", "--db", in.db,
		"--public-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"},
		noEnv, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestLinkAnswerShape(t *testing.T) {
	in := start(t)
	var got map[string]any
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url": "https://example.com/destination", "campaignId": "abc456xyz",
		"phone": "+1234567890", "externalLeadId": "abc123",
		"code": "Xk3p9QaZ"}, &got)
	delete(got, "createdAt")
	want := map[string]any{"code": "Xk3p9QaZ",
		"shortUrl": in.public + "/Xk3p9QaZ",
		"url":      "https://example.com/destination", "campaignId": "abc456xyz",
		"phone": "+1234567890", "externalLeadId": "abc123",
		"expiresAt": nil, "disabled": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("link answer (-want +got):\n%s", diff)
	}
	var one map[string]any
	in.mustCall(http.StatusOK, "GET", "/api/v1/links/Xk3p9QaZ", nil, &one)
	if one["code"] != "Xk3p9QaZ" {
		t.Errorf("get: %v", one)
	}
}

// TestRecreatedCodeIsANewLink deletes a link right after its event and
// gives its code to another lead: the new lead's first tap emits.
func TestRecreatedCodeIsANewLink(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "c")
	create := func(phone string) {
		in.mustCall(201, "POST", "/api/v1/links", map[string]any{
			"url": "https://x.test/", "campaignId": "c", "phone": phone,
			"code": "reused-code"}, nil)
	}
	create("+15551233001")
	in.tap("GET", "/reused-code", "")
	rc.waitCount(1)
	in.mustCall(204, "DELETE", "/api/v1/links/reused-code", nil, nil)
	create("+15551233002")
	in.tap("GET", "/reused-code", "")
	got := rc.waitCount(2)
	if ev := parseEvent(t, got[1].Body); ev.Data["phone"] != "+15551233002" {
		t.Errorf("second event for %q", ev.Data["phone"])
	}
}
