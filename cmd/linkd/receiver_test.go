package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/akti/linkd/emitter"
)

// delivery is one webhook request a receiver got.
type delivery struct {
	ID        string
	Timestamp string
	Signature string
	Agent     string
	Type      string
	Body      []byte
	Verified  error
}

// receiver is a webhook consumer on a loopback listener: it verifies each
// request the way a consumer would and answers with respond's status.
type receiver struct {
	t   testing.TB
	url string

	mu      sync.Mutex
	secrets []string
	got     []delivery
	respond func(n int, w http.ResponseWriter) // nil: 204
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook"
	return rc
}

// URL returns the receiver's endpoint URL.
func (rc *receiver) URL() string { return rc.url }

// trust sets the secrets a delivery may be signed with.
func (rc *receiver) trust(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

// answer sets how the receiver answers the n-th request (from 0).
func (rc *receiver) answer(f func(n int, w http.ResponseWriter)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := delivery{ID: r.Header.Get("webhook-id"),
		Timestamp: r.Header.Get("webhook-timestamp"),
		Signature: r.Header.Get("webhook-signature"),
		Agent:     r.Header.Get("User-Agent"),
		Type:      r.Header.Get("Content-Type"), Body: body}
	rc.mu.Lock()
	d.Verified = emitter.ErrSignature
	for _, s := range rc.secrets {
		err := emitter.Verify(s, r.Header, body, time.Now(),
			emitter.DefaultTolerance)
		if err == nil {
			d.Verified = nil
			break
		}
	}
	n := len(rc.got)
	rc.got = append(rc.got, d)
	respond := rc.respond
	rc.mu.Unlock()
	if respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	respond(n, w)
}

// deliveries returns what the receiver got so far.
func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// waitCount waits until the receiver got at least n requests.
func (rc *receiver) waitCount(n int) []delivery {
	rc.t.Helper()
	waitFor(rc.t, "webhook deliveries", func() bool {
		return len(rc.deliveries()) >= n
	})
	return rc.deliveries()
}

// endpoint is the API's webhook endpoint answer.
type endpoint struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	CampaignID     string   `json:"campaignId"`
	Secret         string   `json:"secret"`
	Disabled       bool     `json:"disabled"`
	DisabledReason string   `json:"disabledReason"`
}

// register registers rc for campaign's events (all types when none are
// named) and makes rc trust the endpoint's secret.
func (in *instance) register(rc *receiver, campaign string,
	events ...string) endpoint {
	in.t.Helper()
	req := map[string]any{"url": rc.URL(), "campaignId": campaign}
	if events != nil {
		req["events"] = events
	}
	var ep endpoint
	in.mustCall(201, "POST", "/api/v1/webhooks", req, &ep)
	rc.trust(ep.Secret)
	return ep
}

// deliveryState is the deliveries API's answer for one delivery.
type deliveryState struct {
	ID             string  `json:"id"`
	EventID        string  `json:"eventId"`
	EventType      string  `json:"eventType"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	LastStatusCode *int    `json:"lastStatusCode"`
	LastError      *string `json:"lastError"`
	NextAttemptAt  *string `json:"nextAttemptAt"`
}

// deliveriesOf lists the endpoint's deliveries, newest first.
func (in *instance) deliveriesOf(epID, status string) []deliveryState {
	in.t.Helper()
	var page struct{ Deliveries []deliveryState }
	in.mustCall(200, "GET", "/api/v1/webhooks/"+epID+"/deliveries?status="+
		status, nil, &page)
	return page.Deliveries
}
