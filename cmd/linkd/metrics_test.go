package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scrape reads /metrics into a map from series (name with labels) to
// value.
func scrape(t testing.TB, in *instance) map[string]float64 {
	t.Helper()
	resp, err := client.Get(in.admin + "/metrics")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %v", resp, err)
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsMoveWithTraffic(t *testing.T) {
	in := start(t, "--retry-initial", "10ms")
	rc := newReceiver(t)
	fail := true
	rc.answer(func(n int, w http.ResponseWriter) {
		if n == 0 && fail {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(204)
	})
	in.register(rc, "c")
	live := in.createLink("https://x.test/", "c", "+15551232000")
	gone := in.createLink("https://x.test/", "c", "+15551232001")
	in.mustCall(200, "PATCH", "/api/v1/links/"+gone.Code, map[string]any{"disabled": true}, nil)
	before := scrape(t, in)

	in.tap("GET", "/"+live.Code, "")
	in.tap("GET", "/"+live.Code, "")
	in.tap("GET", "/"+live.Code, "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
	in.tap("GET", "/nosuchcode", "")
	in.tap("GET", "/"+gone.Code, "")
	in.mustCall(201, "POST", "/api/v1/messages", map[string]any{"campaignId": "c",
		"phone": "+15551232000", "body": "see " + live.ShortURL + " and www.x.test/a"}, nil)
	rc.waitCount(4) // clicked (failed once, then retried) + two link_sent
	waitFor(t, "delivery counters", func() bool {
		after := scrape(t, in)
		return after[`linkd_deliveries_succeeded_total`]-before[`linkd_deliveries_succeeded_total`] == 3
	})
	// One scrape reads its series one after another; this one starts
	// after the last delivery was counted.
	after := scrape(t, in)

	want := map[string]float64{
		`linkd_clicks_total{kind="lead"}`:                       2,
		`linkd_clicks_total{kind="bot"}`:                        1,
		`linkd_events_total{type="lead.link_clicked"}`:          1,
		`linkd_events_total{type="lead.link_sent"}`:             2,
		`linkd_redirect_duration_seconds_count{outcome="hit"}`:  2,
		`linkd_redirect_duration_seconds_count{outcome="bot"}`:  1,
		`linkd_redirect_duration_seconds_count{outcome="miss"}`: 1,
		`linkd_redirect_duration_seconds_count{outcome="gone"}`: 1,
		`linkd_delivery_attempts_total{outcome="2xx"}`:          3,
		`linkd_delivery_attempts_total{outcome="5xx"}`:          1,
		`linkd_delivery_retries_total`:                          1,
		`linkd_dedup_marker_reads_total`:                        0,
		`linkd_deliveries_succeeded_total`:                      3,
	}
	for series, d := range want {
		if got := after[series] - before[series]; got != d {
			t.Errorf("%s moved by %v, want %v", series, got, d)
		}
	}
	for _, series := range []string{"linkd_db_file_bytes", "linkd_outbox_pending",
		"linkd_link_cache_hits_total", `linkd_build_info{version="dev"}`,
		"linkd_dedup_marker_reads_total"} {
		if _, ok := after[series]; !ok {
			t.Errorf("no %s in /metrics", series)
		}
	}
	if after["linkd_dedup_links_held"] < 1 {
		t.Errorf("dedup links held %v after a click's event, want 1 or more",
			after["linkd_dedup_links_held"])
	}
	if after["linkd_outbox_pending"] != 0 {
		t.Errorf("outbox pending %v after every delivery arrived", after["linkd_outbox_pending"])
	}
}
