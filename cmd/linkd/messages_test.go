package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
)

// eventsOf parses what rc received, sorted by event id (the order fired).
func eventsOf(t testing.TB, ds []delivery) []eventBody {
	t.Helper()
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	var out []eventBody
	for _, d := range ds {
		if d.Verified != nil {
			t.Fatalf("delivery %s: %v", d.ID, d.Verified)
		}
		out = append(out, parseEvent(t, d.Body))
	}
	return out
}

func TestMessageFunnel(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "abc456xyz")
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url": "https://example.com/destination", "campaignId": "abc456xyz",
		"phone": "+1234567890", "externalLeadId": "abc123", "code": "abc123"}, nil)
	host := strings.TrimPrefix(in.public, "http://")
	body := fmt.Sprintf("Hey John 👋, check out %s/abc123. Or (www.example.com/sale)! "+
		"Again: %s/abc123 — и ещё %s/nosuch", in.public, in.public, host)

	var sent struct {
		ID            string
		URLs          []string
		CampaignLinks []string
	}
	in.mustCall(201, "POST", "/api/v1/messages", map[string]any{
		"id": "sms-1", "campaignId": "abc456xyz", "phone": "+1234567890",
		"externalLeadId": "abc123", "body": body,
		"sentAt": "2024-01-28T12:00:00Z"}, &sent)
	wantURLs := []string{in.public + "/abc123", "www.example.com/sale", host + "/nosuch"}
	if diff := cmp.Diff(wantURLs, sent.URLs); diff != "" || sent.ID != "sms-1" ||
		!slices.Equal(sent.CampaignLinks, []string{"abc123"}) {
		t.Fatalf("answer %+v (-want +got urls):\n%s", sent, diff)
	}
	evs := eventsOf(t, rc.waitCount(3))
	for i, ev := range evs {
		if ev.Metadata.EventType != emitter.LinkSent || ev.Data["url"] != wantURLs[i] ||
			ev.Metadata.EventTime != "2024-01-28T12:00:00.000Z" ||
			ev.Data["externalLeadId"] != "abc123" {
			t.Errorf("event %d = %+v", i, ev)
		}
	}

	// A repeated id is refused and fires nothing.
	status, raw := in.adminCall("POST", "/api/v1/messages", map[string]any{
		"id": "sms-1", "campaignId": "abc456xyz", "phone": "+1234567890",
		"body": "again"}, nil)
	if code, _ := errorCode(raw); status != 409 || code != "message_exists" {
		t.Errorf("repeat: %d %s", status, raw)
	}

	var rcpt struct {
		Duplicate bool
	}
	in.mustCall(200, "POST", "/api/v1/messages/sms-1/delivered",
		map[string]any{"deliveredAt": "2024-01-28T12:00:05Z"}, &rcpt)
	evs = eventsOf(t, rc.waitCount(5))[3:]
	if rcpt.Duplicate || len(evs) != 2 {
		t.Fatalf("receipt %+v, events %+v", rcpt, evs)
	}
	types := []string{evs[0].Metadata.EventType, evs[1].Metadata.EventType}
	if !slices.Equal(types, []string{emitter.MessageDelivered, emitter.LinkDelivered}) {
		t.Errorf("receipt fired %v", types)
	}
	for _, ev := range evs {
		if ev.Data["message"] != body || ev.Metadata.EventTime != "2024-01-28T12:00:05.000Z" {
			t.Errorf("delivered event %+v", ev)
		}
	}
	in.mustCall(200, "POST", "/api/v1/messages/sms-1/delivered", nil, &rcpt)
	if !rcpt.Duplicate {
		t.Errorf("second receipt not a duplicate")
	}
	in.mustCall(404, "POST", "/api/v1/messages/nope/delivered", nil, nil)

	in.tap("GET", "/abc123", "")
	rc.waitCount(6)
	var stats map[string]any
	waitFor(t, "campaign clicks", func() bool {
		in.mustCall(200, "GET", "/api/v1/campaigns/abc456xyz/stats", nil, &stats)
		return stats["clicks"] == 1.0
	})
	want := map[string]any{"campaignId": "abc456xyz", "links": 1.0,
		"messagesSent": 1.0, "messagesDelivered": 1.0, "linksSent": 3.0,
		"clicks": 1.0, "botClicks": 0.0, "events": 1.0, "leadsClicked": 1.0}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Errorf("campaign stats (-want +got):\n%s", diff)
	}
	if n := len(rc.deliveries()); n != 6 {
		t.Errorf("%d deliveries in all, want 6", n)
	}
}

func TestMessageWithoutCampaignLink(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "c", emitter.MessageDelivered, emitter.LinkDelivered)
	var sent struct{ ID string }
	in.mustCall(201, "POST", "/api/v1/messages", map[string]any{
		"campaignId": "c", "phone": "+15551230020",
		"body": "Your code is 1234. Reply STOP to opt out."}, &sent)
	if !strings.HasPrefix(sent.ID, "msg_") {
		t.Errorf("generated id %q", sent.ID)
	}
	in.mustCall(200, "POST", "/api/v1/messages/"+sent.ID+"/delivered", nil, nil)
	evs := eventsOf(t, rc.waitCount(1))
	if len(evs) != 1 || evs[0].Metadata.EventType != emitter.MessageDelivered {
		t.Errorf("events %+v", evs)
	}
	if _, ok := evs[0].Data["externalLeadId"]; ok {
		t.Errorf("externalLeadId present: %+v", evs[0].Data)
	}
}

// TestEncodedPathIDs reaches resources whose ids hold a colon through
// paths with the colon percent-encoded, as encodeURIComponent and
// Python's quote write it, and plain.
func TestEncodedPathIDs(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "spring:2026", emitter.MessageDelivered)
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url": "https://example.com/", "campaignId": "spring:2026",
		"phone": "+15551230021", "code": "test"}, nil)
	in.mustCall(201, "POST", "/api/v1/messages", map[string]any{
		"id": "sms:123", "campaignId": "spring:2026",
		"phone": "+15551230021", "body": "Hello"}, nil)

	// A receipt without a body, sent chunked as some clients do.
	in.mustCall(200, "POST", "/api/v1/messages/sms%3A123/delivered",
		io.MultiReader(), nil)
	evs := eventsOf(t, rc.waitCount(1))
	if len(evs) != 1 || evs[0].Metadata.EventType != emitter.MessageDelivered {
		t.Errorf("events %+v", evs)
	}
	var stats struct{ MessagesDelivered int }
	for _, p := range []string{"spring%3A2026", "spring:2026", "spring%3a2026"} {
		stats.MessagesDelivered = 0
		in.mustCall(200, "GET", "/api/v1/campaigns/"+p+"/stats", nil, &stats)
		if stats.MessagesDelivered != 1 {
			t.Errorf("campaign %s: messagesDelivered %d, want 1", p,
				stats.MessagesDelivered)
		}
	}
	in.mustCall(200, "GET", "/api/v1/links/t%65st", nil, nil)
	// An encoded slash stays inside its segment.
	for _, p := range []string{"/api/v1/links/te%2Fst",
		"/api/v1/campaigns/spring%3A2026%2Fstats", "/api%2Fv1%2Fkeys"} {
		if s, raw := in.adminCall("GET", p, nil, nil); s != 404 {
			t.Errorf("%s: %d %s, want 404", p, s, raw)
		}
	}
}

func TestMessageValidation(t *testing.T) {
	in := start(t)
	good := map[string]any{"campaignId": "c", "phone": "+15551230021", "body": "hi"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"bad phone", "/api/v1/messages", with("phone", "555"), 422, "invalid_phone"},
		{"no body", "/api/v1/messages", with("body", ""), 422, "missing_field"},
		{"long body", "/api/v1/messages", with("body", strings.Repeat("a", 16<<10+1)), 422, "invalid_body"},
		{"bad sentAt", "/api/v1/messages", with("sentAt", "yesterday"), 422, "invalid_time"},
		{"sentAt of year 1", "/api/v1/messages", with("sentAt", "0001-01-01T00:00:00Z"), 422, "invalid_time"},
		{"sentAt next week", "/api/v1/messages", with("sentAt", time.Now().Add(7*24*time.Hour).Format(time.RFC3339)), 422, "invalid_time"},
		{"receipt of year 9999", "/api/v1/messages/x/delivered", `{"deliveredAt": "9999-12-31T23:59:59Z"}`, 422, "invalid_time"},
		{"bad id", "/api/v1/messages", with("id", "a b"), 422, "invalid_message_id"},
		{"dot-dot id", "/api/v1/messages", with("id", ".."), 422, "invalid_message_id"},
		{"not json", "/api/v1/messages", "nope", 400, "bad_json"},
		{"invalid utf-8", "/api/v1/messages", []byte("{\"campaignId\":\"c\",\"phone\":\"+15551230021\",\"body\":\"hi \xff\"}"), 400, "bad_json"},
		{"bad receipt", "/api/v1/messages/x/delivered", `{"deliveredAt": 5}`, 400, "bad_json"},
		{"shorten bad campaign", "/api/v1/messages/shorten", with("campaignId", ""), 422, "missing_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := in.adminCall("POST", tt.path, tt.body, nil)
			if code, _ := errorCode(raw); status != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s", status, code, tt.status, tt.code)
			}
		})
	}
	var stats struct{ MessagesSent int }
	in.mustCall(200, "GET", "/api/v1/campaigns/c/stats", nil, &stats)
	if stats.MessagesSent != 0 {
		t.Errorf("refused messages counted: %d", stats.MessagesSent)
	}
}

func TestShorten(t *testing.T) {
	in := start(t)
	ours := in.createLink("https://x.test/already", "c", "+15551230022")
	body := "Hola Ana! Mira https://shop.example/a?x=1&y=2 y www.shop.example/b. " +
		"Otra vez: https://shop.example/a?x=1&y=2 — " + ours.ShortURL
	var got struct {
		Body  string
		Links []link
	}
	in.mustCall(200, "POST", "/api/v1/messages/shorten", map[string]any{
		"campaignId": "c", "phone": "+15551230023", "externalLeadId": "ana",
		"body": body}, &got)
	if len(got.Links) != 2 {
		t.Fatalf("links %+v", got.Links)
	}
	a, b := got.Links[0], got.Links[1]
	want := "Hola Ana! Mira " + a.ShortURL + " y " + b.ShortURL + ". Otra vez: " +
		a.ShortURL + " — " + ours.ShortURL
	if got.Body != want {
		t.Errorf("body\n got %q\nwant %q", got.Body, want)
	}
	for l, dest := range map[link]string{a: "https://shop.example/a?x=1&y=2",
		b: "https://www.shop.example/b"} {
		if l.ExternalLeadID != "ana" || l.Phone != "+15551230023" {
			t.Errorf("link %+v", l)
		}
		if r := in.tap("GET", "/"+l.Code, "facebookexternalhit/1.1"); r.Header.Get("Location") != dest {
			t.Errorf("%s goes to %q, want %q", l.Code, r.Header.Get("Location"), dest)
		}
	}
	var none struct{ Body string }
	in.mustCall(http.StatusOK, "POST", "/api/v1/messages/shorten", map[string]any{
		"campaignId": "c", "phone": "+15551230023", "body": "no links here"}, &none)
	if none.Body != "no links here" {
		t.Errorf("body without links changed: %q", none.Body)
	}
}
