package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
)

type eventBody struct {
	Metadata struct {
		APIVersion string `json:"apiVersion"`
		EventType  string `json:"eventType"`
		CampaignID string `json:"campaignId"`
		EventTime  string `json:"eventTime"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
}

func parseEvent(t testing.TB, raw []byte) eventBody {
	t.Helper()
	var e eventBody
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("event body %q: %v", raw, err)
	}
	return e
}

func TestClickDeliveredSigned(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "abc456xyz", emitter.LinkClicked)
	var l link
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url":        "https://example.com/destination?x=1&y=<2>",
		"campaignId": "abc456xyz", "phone": "+1234567890",
		"externalLeadId": "abc123"}, &l)
	noLead := in.createLink("https://example.com/d2", "abc456xyz", "+1234567891")

	before := time.Now()
	if r := in.tap("GET", "/"+l.Code, ""); r.StatusCode != 302 {
		t.Fatalf("tap: %d", r.StatusCode)
	}
	got := rc.waitCount(1)
	d := got[0]
	if d.Verified != nil {
		t.Fatalf("signature: %v (%q)", d.Verified, d.Signature)
	}
	ev := parseEvent(t, d.Body)
	want := fmt.Sprintf(`{"metadata":{"apiVersion":"2026-02-09",`+
		`"eventType":"lead.link_clicked","campaignId":"abc456xyz",`+
		`"eventTime":%q},"data":{"phone":"+1234567890",`+
		`"externalLeadId":"abc123",`+
		`"url":"https://example.com/destination?x=1&y=<2>",`+
		`"shortUrl":%q}}`, ev.Metadata.EventTime, in.public+"/"+l.Code)
	if string(d.Body) != want {
		t.Errorf("body\n got %s\nwant %s", d.Body, want)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000Z", ev.Metadata.EventTime)
	if err != nil || at.Before(before.Truncate(time.Millisecond)) ||
		at.After(time.Now()) {
		t.Errorf("eventTime %q not the click's time (%v)", ev.Metadata.EventTime, err)
	}
	if !strings.HasPrefix(d.ID, "evt_") || len(d.ID) != 30 {
		t.Errorf("webhook-id %q", d.ID)
	}
	ts, _ := strconv.ParseInt(d.Timestamp, 10, 64)
	if time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Errorf("webhook-timestamp %q", d.Timestamp)
	}
	if d.Type != "application/json" || !strings.HasPrefix(d.Agent, "linkd-webhooks/") {
		t.Errorf("headers: %q %q", d.Type, d.Agent)
	}

	in.tap("GET", "/"+noLead.Code, "")
	got = rc.waitCount(2)
	if strings.Contains(string(got[1].Body), "externalLeadId") {
		t.Errorf("externalLeadId present without one: %s", got[1].Body)
	}
}

func TestBotsAndRepeatsFoldIntoOneEvent(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	in.register(rc, "c")
	l := in.createLink("https://x.test/", "c", "+15551230010")
	path := "/" + l.Code

	in.tap("GET", path, "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")
	in.tap("HEAD", path, "")
	in.tap("GET", path, "curl/8.5.0")
	in.tap("GET", path, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) "+
		"AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 "+
		"Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0")
	req, _ := http.NewRequest("GET", in.public+path, nil)
	req.Header.Set("User-Agent", iPhone)
	req.Header.Set("Sec-Purpose", "prefetch")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 302 {
		t.Fatalf("prefetch: %v %v", resp, err)
	}
	resp.Body.Close()
	// The lead's own taps: the first emits, the second is folded in.
	in.tap("GET", path, "")
	in.tap("GET", path, "")

	rc.waitCount(1)
	var stats struct {
		Clicks, BotClicks, Events int
		FirstClickAt              *string
	}
	waitFor(t, "counters", func() bool {
		in.mustCall(200, "GET", "/api/v1/links/"+l.Code+"/stats", nil, &stats)
		return stats.Clicks == 2 && stats.BotClicks == 5
	})
	if stats.Events != 1 || stats.FirstClickAt == nil {
		t.Errorf("stats = %+v", stats)
	}
	var log struct {
		Visits []struct {
			Reason string `json:"reason"`
		} `json:"visits"`
	}
	in.mustCall(200, "GET", "/api/v1/links/"+l.Code+"/visits", nil, &log)
	reasons := make(map[string]int)
	for _, v := range log.Visits {
		reasons[v.Reason]++
	}
	wantReasons := map[string]int{"link_preview": 2, "head": 1,
		"http_library": 1, "prefetch": 1}
	if diff := cmp.Diff(wantReasons, reasons); diff != "" {
		t.Errorf("visit reasons (-want +got):\n%s", diff)
	}

	// Nothing else is on its way: the one delivery is the only one made.
	ds := in.deliveriesOf(in.endpointID(t), "")
	if len(ds) != 1 || len(rc.deliveries()) != 1 {
		t.Errorf("deliveries = %+v, received %d", ds, len(rc.deliveries()))
	}
}

// endpointID returns the id of the instance's only endpoint.
func (in *instance) endpointID(t testing.TB) string {
	t.Helper()
	var list struct{ Webhooks []endpoint }
	in.mustCall(200, "GET", "/api/v1/webhooks", nil, &list)
	if len(list.Webhooks) != 1 {
		t.Fatalf("webhooks = %+v", list.Webhooks)
	}
	return list.Webhooks[0].ID
}

func TestConcurrentTapsGiveOneEvent(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	ep := in.register(rc, "c")
	l := in.createLink("https://x.test/", "c", "+15551230011")
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := in.tap("GET", "/"+l.Code, ""); r.StatusCode != 302 {
				t.Errorf("tap: %d", r.StatusCode)
			}
		}()
	}
	wg.Wait()
	rc.waitCount(1)
	if ds := in.deliveriesOf(ep.ID, ""); len(ds) != 1 {
		t.Errorf("%d deliveries for 50 concurrent taps", len(ds))
	}
}

func TestRetriesKeepTheEventID(t *testing.T) {
	in := start(t, "--retry-initial", "20ms")
	rc := newReceiver(t)
	rc.answer(func(n int, w http.ResponseWriter) {
		if n < 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ep := in.register(rc, "c")
	l := in.createLink("https://x.test/", "c", "+15551230012")
	in.tap("GET", "/"+l.Code, "")

	got := rc.waitCount(3)
	for i, d := range got {
		if d.ID != got[0].ID || d.Verified != nil {
			t.Errorf("attempt %d: id %q (first %q), verify %v", i, d.ID,
				got[0].ID, d.Verified)
		}
		if string(d.Body) != string(got[0].Body) {
			t.Errorf("attempt %d body changed", i)
		}
	}
	var ds []deliveryState
	waitFor(t, "delivery succeeded", func() bool {
		ds = in.deliveriesOf(ep.ID, "succeeded")
		return len(ds) == 1
	})
	if ds[0].Attempts != 3 || *ds[0].LastStatusCode != 200 || ds[0].EventID != got[0].ID {
		t.Errorf("delivery = %+v", ds[0])
	}
	var one struct {
		DeliveredAt string `json:"deliveredAt"`
		AttemptLog  []struct {
			StatusCode int    `json:"statusCode"`
			Error      string `json:"error"`
			At         string `json:"at"`
		} `json:"attemptLog"`
	}
	in.mustCall(200, "GET", "/api/v1/webhooks/"+ep.ID+"/deliveries/"+ds[0].ID,
		nil, &one)
	if len(one.AttemptLog) != 3 || one.AttemptLog[0].StatusCode != 500 ||
		one.AttemptLog[0].Error != "status 500" || one.AttemptLog[2].StatusCode != 200 {
		t.Errorf("attempt log = %+v", one.AttemptLog)
	}
	// Times are to the millisecond: at most three digits of fraction.
	times := []string{one.DeliveredAt}
	for _, a := range one.AttemptLog {
		times = append(times, a.At)
	}
	for _, ts := range times {
		if _, frac, ok := strings.Cut(strings.TrimSuffix(ts, "Z"), "."); ts == "" ||
			!strings.HasSuffix(ts, "Z") || ok && len(frac) > 3 {
			t.Errorf("time %q is not UTC to the millisecond", ts)
		}
	}
}

func TestGoneDisablesEndpoint(t *testing.T) {
	in := start(t, "--retry-initial", "20ms")
	rc := newReceiver(t)
	rc.answer(func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	ep := in.register(rc, "c")
	a := in.createLink("https://x.test/", "c", "+15551230013")
	in.tap("GET", "/"+a.Code, "")
	rc.waitCount(1)
	var got endpoint
	waitFor(t, "endpoint disabled", func() bool {
		in.mustCall(200, "GET", "/api/v1/webhooks/"+ep.ID, nil, &got)
		return got.Disabled
	})
	if !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("reason = %q", got.DisabledReason)
	}
	b := in.createLink("https://x.test/", "c", "+15551230014")
	in.tap("GET", "/"+b.Code, "")
	if ds := in.deliveriesOf(ep.ID, ""); len(ds) != 1 {
		t.Errorf("disabled endpoint got new deliveries: %+v", ds)
	}

	// Enabling it again resumes the pending delivery.
	rc.answer(nil)
	in.mustCall(200, "PATCH", "/api/v1/webhooks/"+ep.ID,
		map[string]any{"disabled": false}, nil)
	waitFor(t, "resumed delivery", func() bool {
		return len(in.deliveriesOf(ep.ID, "succeeded")) == 1
	})
}

func TestRedirectIsAFailure(t *testing.T) {
	in := start(t, "--retry-initial", "1h")
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.answer(func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", target.URL())
		w.WriteHeader(http.StatusFound)
	})
	ep := in.register(rc, "c")
	l := in.createLink("https://x.test/", "c", "+15551230015")
	in.tap("GET", "/"+l.Code, "")
	rc.waitCount(1)
	var ds []deliveryState
	waitFor(t, "failed attempt recorded", func() bool {
		ds = in.deliveriesOf(ep.ID, "pending")
		return len(ds) == 1 && ds[0].Attempts == 1
	})
	if *ds[0].LastStatusCode != 302 || !strings.Contains(*ds[0].LastError, "redirect") {
		t.Errorf("delivery = %+v", ds[0])
	}
	if n := len(target.deliveries()); n != 0 {
		t.Errorf("redirect was followed: target got %d", n)
	}
}

func TestSlowEndpointDelaysNoOther(t *testing.T) {
	in := start(t, "--webhook-timeout", "300ms", "--retry-initial", "1h")
	release := make(chan struct{})
	defer close(release)
	slow := newReceiver(t)
	slow.answer(func(_ int, w http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	fast := newReceiver(t)
	slowEp := in.register(slow, "c")
	in.register(fast, "c")

	for i := range 20 {
		l := in.createLink("https://x.test/", "c", fmt.Sprintf("+1555123%04d", i))
		in.tap("GET", "/"+l.Code, "")
	}
	got := fast.waitCount(20)
	for _, d := range got {
		if d.Verified != nil {
			t.Fatalf("fast endpoint: %v", d.Verified)
		}
	}
	waitFor(t, "timeouts recorded", func() bool {
		for _, d := range in.deliveriesOf(slowEp.ID, "pending") {
			if d.LastError != nil && *d.LastError == "timeout" {
				return true
			}
		}
		return false
	})
}

func TestDeadThenManualRetry(t *testing.T) {
	in := start(t, "--retry-initial", "10ms", "--retry-max-age", "200ms")
	rc := newReceiver(t)
	rc.answer(func(_ int, w http.ResponseWriter) { w.WriteHeader(503) })
	ep := in.register(rc, "c")
	l := in.createLink("https://x.test/", "c", "+15551230016")
	in.tap("GET", "/"+l.Code, "")
	var dead []deliveryState
	waitFor(t, "delivery dead", func() bool {
		dead = in.deliveriesOf(ep.ID, "dead")
		return len(dead) == 1
	})
	if dead[0].NextAttemptAt != nil {
		t.Errorf("dead delivery has a next attempt: %+v", dead[0])
	}

	rc.answer(nil)
	n := len(rc.deliveries())
	in.mustCall(202, "POST", "/api/v1/webhooks/"+ep.ID+"/deliveries/"+
		dead[0].ID+"/retry", nil, nil)
	got := rc.waitCount(n + 1)
	if got[n].ID != dead[0].EventID || got[n].Verified != nil {
		t.Errorf("manual retry sent %q (%v)", got[n].ID, got[n].Verified)
	}
	waitFor(t, "retried delivery succeeded", func() bool {
		return len(in.deliveriesOf(ep.ID, "succeeded")) == 1
	})
	in.mustCall(404, "POST", "/api/v1/webhooks/"+ep.ID+"/deliveries/dlv_nope/retry", nil, nil)
}

func TestRotatedSecretSignsBoth(t *testing.T) {
	in := start(t)
	rc := newReceiver(t)
	ep := in.register(rc, "c")
	var rot struct{ Secret string }
	in.mustCall(200, "POST", "/api/v1/webhooks/"+ep.ID+"/rotate-secret", nil, &rot)
	if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == ep.Secret {
		t.Fatalf("rotated secret %q", rot.Secret)
	}
	for _, secret := range []string{ep.Secret, rot.Secret} {
		rc.trust(secret)
		n := len(rc.deliveries())
		var test struct{ DeliveryID string }
		in.mustCall(202, "POST", "/api/v1/webhooks/"+ep.ID+"/test", nil, &test)
		d := rc.waitCount(n + 1)[n]
		if d.Verified != nil || len(strings.Fields(d.Signature)) != 2 {
			t.Errorf("with %s: %v, signature %q", secret[:10], d.Verified, d.Signature)
		}
		if ev := parseEvent(t, d.Body); ev.Metadata.EventType != emitter.LinkClicked {
			t.Errorf("test event type %q", ev.Metadata.EventType)
		}
	}
}

func TestWebhookValidation(t *testing.T) {
	in := start(t)
	guarded := startOn(t, t.TempDir()+"/g.db", "--admin-token", testToken,
		"--webhook-allow-private=false")
	tests := []struct {
		name   string
		in     *instance
		body   map[string]any
		status int
		code   string
	}{
		{"unknown event", in, map[string]any{"url": "http://127.0.0.1:1/",
			"events": []string{"lead.nope"}}, 422, "invalid_event_type"},
		{"no url", in, map[string]any{"campaignId": "c"}, 422, "invalid_url"},
		{"userinfo", in, map[string]any{"url": "http://u:p@127.0.0.1:1/"}, 422, "invalid_url"},
		{"http when guarded", guarded, map[string]any{"url": "http://hooks.example.com/"}, 422, "invalid_url"},
		{"loopback when guarded", guarded, map[string]any{"url": "https://127.0.0.1/"}, 422, "forbidden_address"},
		{"numeric loopback", guarded, map[string]any{"url": "https://2130706433/"}, 422, "forbidden_address"},
		{"metadata address", guarded, map[string]any{"url": "https://169.254.169.254/"}, 422, "forbidden_address"},
		{"mapped v6", guarded, map[string]any{"url": "https://[::ffff:10.0.0.1]/"}, 422, "forbidden_address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := tt.in.adminCall("POST", "/api/v1/webhooks", tt.body, nil)
			if code, _ := errorCode(raw); status != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s", status, code, tt.status, tt.code)
			}
		})
	}
	for _, x := range []*instance{in, guarded} {
		var list struct{ Webhooks []endpoint }
		x.mustCall(200, "GET", "/api/v1/webhooks", nil, &list)
		if len(list.Webhooks) != 0 {
			t.Errorf("refused registrations stored %d endpoints", len(list.Webhooks))
		}
	}
}

// TestDeleteEndpointDuringAttempt deletes an endpoint while an attempt to
// it is in flight: nothing of it stays scheduled, and the database checks.
func TestDeleteEndpointDuringAttempt(t *testing.T) {
	in := start(t, "--webhook-timeout", "300ms")
	release := make(chan struct{})
	defer close(release)
	rc := newReceiver(t)
	rc.answer(func(_ int, w http.ResponseWriter) { <-release })
	ep := in.register(rc, "c")
	in.mustCall(202, "POST", "/api/v1/webhooks/"+ep.ID+"/test", nil, nil)
	rc.waitCount(1)
	in.mustCall(204, "DELETE", "/api/v1/webhooks/"+ep.ID, nil, nil)
	// The attempt times out after the delete.
	waitFor(t, "the attempt's timeout", func() bool {
		return scrape(t, in)[`linkd_delivery_attempts_total{outcome="timeout"}`] == 1
	})
	if n := scrape(t, in)["linkd_outbox_pending"]; n != 0 {
		t.Errorf("%v deliveries pending for a deleted endpoint", n)
	}
	in.stop()
	var out syncBuffer
	if err := run(t.Context(), []string{"check", "--db", in.db}, noEnv, &out, &out); err != nil {
		t.Errorf("check after the delete: %v\n%s", err, out.String())
	}
}
