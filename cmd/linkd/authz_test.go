package main

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/web"
)

// TestEveryRouteByEveryCaller walks the whole API with each kind of
// caller: nobody, a wrong token, the admin, a key for the resource's
// campaign, a key for another campaign, and a deleted key.
func TestEveryRouteByEveryCaller(t *testing.T) {
	in := start(t, "--retry-initial", "1h")
	rc := newReceiver(t)
	newLink := func(code, campaign string) {
		in.mustCall(201, "POST", "/api/v1/links", map[string]any{
			"url": "https://x.test/", "campaignId": campaign,
			"phone": "+15551239000", "code": code}, nil)
	}
	newLink("link-a", "camp-a")
	newLink("link-b", "camp-b")
	for _, c := range []string{"del-admin", "del-key-a", "del-key-b"} {
		newLink(c, "camp-a")
	}
	whA := in.register(rc, "camp-a")
	var global endpoint
	in.mustCall(201, "POST", "/api/v1/webhooks", map[string]any{"url": rc.URL()}, &global)
	var test struct{ DeliveryID string }
	in.mustCall(202, "POST", "/api/v1/webhooks/"+whA.ID+"/test", nil, &test)
	disposable := map[string]string{}
	for _, who := range []string{"admin", "keyA", "keyB"} {
		disposable[who] = in.register(rc, "camp-a").ID
	}
	in.mustCall(201, "POST", "/api/v1/messages", map[string]any{"id": "m-1",
		"campaignId": "camp-a", "phone": "+15551239000", "body": "hi"}, nil)

	newKey := func(campaign string) (id, key string) {
		var k struct{ ID, Key string }
		in.mustCall(201, "POST", "/api/v1/keys", map[string]any{
			"name": campaign, "campaigns": []string{campaign}}, &k)
		if !strings.HasPrefix(k.Key, web.KeyPrefix) {
			t.Fatalf("key %q", k.Key)
		}
		return k.ID, k.Key
	}
	_, keyA := newKey("camp-a")
	_, keyB := newKey("camp-b")
	deletedID, deleted := newKey("camp-a")
	if s, _ := in.call(deleted, "GET", "/api/v1/links/link-a", nil, nil); s != 200 {
		t.Fatalf("fresh key refused: %d", s)
	}
	in.mustCall(204, "DELETE", "/api/v1/keys/"+deletedID, nil, nil)
	if s, _ := in.call(deleted, "GET", "/api/v1/links/link-a", nil, nil); s != 401 {
		t.Fatalf("deleted key's next request: %d, want 401", s)
	}

	linkReq := map[string]any{"url": "https://x.test/", "campaignId": "camp-a",
		"phone": "+15551239001"}
	msg := map[string]any{"campaignId": "camp-a", "phone": "+15551239001", "body": "hi"}
	hook := map[string]any{"url": rc.URL(), "campaignId": "camp-a"}
	dlv := "/api/v1/webhooks/" + whA.ID + "/deliveries/" + test.DeliveryID
	type want struct{ admin, keyA, keyB int }
	tests := []struct {
		route string // as web.Admin.Routes names it
		path  string // {who} is replaced by the caller's name
		body  any
		want  want
	}{
		{"POST /api/v1/links", "/api/v1/links", linkReq, want{201, 403, 403}},
		{"POST /api/v1/links/batch", "/api/v1/links/batch",
			map[string]any{"links": []any{linkReq}}, want{201, 403, 403}},
		{"GET /api/v1/links", "/api/v1/links", nil, want{200, 200, 200}},
		{"GET /api/v1/links/:code", "/api/v1/links/link-a", nil, want{200, 200, 404}},
		{"PATCH /api/v1/links/:code", "/api/v1/links/link-a",
			map[string]any{"disabled": false}, want{200, 403, 403}},
		{"DELETE /api/v1/links/:code", "/api/v1/links/del-{who}", nil, want{204, 403, 403}},
		{"GET /api/v1/links/:code/stats", "/api/v1/links/link-a/stats", nil, want{200, 200, 404}},
		{"GET /api/v1/links/:code/visits", "/api/v1/links/link-a/visits", nil, want{200, 200, 404}},
		{"GET /api/v1/links/:code/series", "/api/v1/links/link-a/series", nil, want{200, 200, 404}},
		{"GET /api/v1/links/:code/qr.png", "/api/v1/links/link-a/qr.png", nil, want{200, 200, 404}},
		{"GET /api/v1/campaigns", "/api/v1/campaigns", nil, want{200, 200, 200}},
		{"GET /api/v1/campaigns/:id/stats", "/api/v1/campaigns/camp-a/stats", nil, want{200, 200, 404}},
		{"GET /api/v1/campaigns/:id/series", "/api/v1/campaigns/camp-a/series", nil, want{200, 200, 404}},
		{"POST /api/v1/messages", "/api/v1/messages", msg, want{201, 403, 403}},
		{"POST /api/v1/messages/shorten", "/api/v1/messages/shorten", msg, want{200, 403, 403}},
		{"POST /api/v1/messages/:id/delivered", "/api/v1/messages/m-1/delivered", nil, want{200, 403, 403}},
		{"POST /api/v1/webhooks", "/api/v1/webhooks", hook, want{201, 201, 403}},
		{"GET /api/v1/webhooks", "/api/v1/webhooks", nil, want{200, 200, 200}},
		{"GET /api/v1/webhooks/:id", "/api/v1/webhooks/" + whA.ID, nil, want{200, 200, 404}},
		{"GET /api/v1/webhooks/:id", "/api/v1/webhooks/" + global.ID, nil, want{200, 404, 404}},
		{"PATCH /api/v1/webhooks/:id", "/api/v1/webhooks/" + whA.ID,
			map[string]any{"description": "x"}, want{200, 200, 404}},
		{"DELETE /api/v1/webhooks/:id", "/api/v1/webhooks/{disposable}", nil, want{204, 204, 404}},
		{"POST /api/v1/webhooks/:id/rotate-secret", "/api/v1/webhooks/" + whA.ID + "/rotate-secret", nil, want{200, 200, 404}},
		{"POST /api/v1/webhooks/:id/test", "/api/v1/webhooks/" + whA.ID + "/test", nil, want{202, 202, 404}},
		{"GET /api/v1/webhooks/:id/deliveries", "/api/v1/webhooks/" + whA.ID + "/deliveries", nil, want{200, 200, 404}},
		{"GET /api/v1/webhooks/:id/deliveries/:did", dlv, nil, want{200, 200, 404}},
		{"POST /api/v1/webhooks/:id/deliveries/:did/retry", dlv + "/retry", nil, want{202, 202, 404}},
		{"POST /api/v1/keys", "/api/v1/keys", map[string]any{"name": "n",
			"campaigns": []string{"camp-a"}}, want{201, 403, 403}},
		{"GET /api/v1/keys", "/api/v1/keys", nil, want{200, 403, 403}},
		{"DELETE /api/v1/keys/:id", "/api/v1/keys/key_nope", nil, want{404, 403, 403}},
		{"GET /api/v1/backup", "/api/v1/backup", nil, want{200, 403, 403}},
	}
	callers := []struct {
		name, token string
		status      func(want) int
	}{
		{"nobody", "", func(want) int { return 401 }},
		{"wrong token", "lkd_key_not-a-real-key-at-all", func(want) int { return 401 }},
		{"deleted key", deleted, func(want) int { return 401 }},
		{"keyB", keyB, func(w want) int { return w.keyB }},
		{"keyA", keyA, func(w want) int { return w.keyA }},
		{"admin", testToken, func(w want) int { return w.admin }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.route] = true
		for _, c := range callers {
			path := strings.ReplaceAll(tt.path, "{who}", c.name)
			path = strings.ReplaceAll(path, "{disposable}", disposable[c.name])
			method := strings.Fields(tt.route)[0]
			t.Run(c.name+" "+method+" "+path, func(t *testing.T) {
				got, raw := in.call(c.token, method, path, tt.body, nil)
				if want := c.status(tt.want); got != want {
					t.Errorf("status %d, want %d: %.200s", got, want, raw)
				}
				if got >= 400 {
					if code, _ := errorCode(raw); code == "" {
						t.Errorf("error without the spec's shape: %s", raw)
					}
				}
			})
		}
	}

	var routes []string
	for _, r := range (&web.Admin{}).Routes() {
		if !covered[r] {
			routes = append(routes, r)
		}
	}
	sort.Strings(routes)
	if len(routes) > 0 {
		t.Errorf("routes the table does not walk: %v", routes)
	}

	// Listings are filtered to the key's campaigns.
	var links struct{ Links []link }
	in.call(keyB, "GET", "/api/v1/links", nil, &links)
	var codes []string
	for _, l := range links.Links {
		codes = append(codes, l.Code)
	}
	if diff := cmp.Diff([]string{"link-b"}, codes); diff != "" {
		t.Errorf("keyB's links (-want +got):\n%s", diff)
	}
	var hooks struct{ Webhooks []endpoint }
	in.call(keyB, "GET", "/api/v1/webhooks", nil, &hooks)
	if len(hooks.Webhooks) != 0 {
		t.Errorf("keyB sees webhooks %+v", hooks.Webhooks)
	}
	var camps struct {
		Campaigns []struct{ CampaignID string }
	}
	in.call(keyA, "GET", "/api/v1/campaigns", nil, &camps)
	if len(camps.Campaigns) != 1 || camps.Campaigns[0].CampaignID != "camp-a" {
		t.Errorf("keyA's campaigns %+v", camps.Campaigns)
	}
	if s, _ := in.call(keyA, "GET", "/api/v1/links?campaignId=camp-b", nil, &links); s != http.StatusOK || len(links.Links) != 0 {
		t.Errorf("keyA listing camp-b: %d %+v", s, links.Links)
	}
}
