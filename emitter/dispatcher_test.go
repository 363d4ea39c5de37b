package emitter_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/store"
)

// openDB opens a fresh database in a temporary folder.
func openDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "linkd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// waitFor polls cond every 5ms until it holds, for at most 10s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// request is what a receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a loopback webhook receiver that logs every request and
// answers with answer, given the request's 1-based number.
type receiver struct {
	*httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, n int)

	mu   sync.Mutex
	reqs []request
}

func newReceiver(tb testing.TB,
	answer func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	tb.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{r.Header.Clone(), body})
	n := len(rc.reqs)
	rc.mu.Unlock()
	rc.answer(w, r, n)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func status(code int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(code)
	}
}

var ids = emitter.NewIDs()

// addEndpoint registers an endpoint for every event type at url.
func addEndpoint(tb testing.TB, db *store.DB, url string) *emitter.Endpoint {
	tb.Helper()
	secret, err := emitter.NewSecret(nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	ep := &emitter.Endpoint{ID: ids.New("wh_", now), URL: url,
		Events: emitter.EventTypes, Secrets: []emitter.Secret{{Value: secret}},
		CreatedAt: now}
	if err := db.PutEndpoint(context.Background(), ep); err != nil {
		tb.Fatal(err)
	}
	return ep
}

// addClick stores a click event with a delivery to every endpoint.
func addClick(tb testing.TB, db *store.DB) emitter.Event {
	tb.Helper()
	now := time.Now()
	ev := emitter.ClickEvent(ids.New("evt_", now), "camp1",
		emitter.Lead{Phone: "+15555550100", ExternalLeadID: "lead-1"},
		"https://example.com/offer?a=1&b=2", "https://s.test/abc123", now)
	if _, err := db.AddEvent(context.Background(), ev); err != nil {
		tb.Fatal(err)
	}
	return ev
}

// startDispatcher runs a Dispatcher over db until the test ends.
func startDispatcher(tb testing.TB, db *store.DB,
	opts emitter.Options) *emitter.Dispatcher {
	tb.Helper()
	if opts.Guard == nil {
		opts.Guard = &emitter.Guard{AllowPrivate: true}
	}
	if opts.Grace == 0 {
		opts.Grace = 2 * time.Second
	}
	d := emitter.NewDispatcher(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			tb.Errorf("Run: %v", err)
		}
	}()
	tb.Cleanup(func() { cancel(); <-done })
	return d
}

// deliveries returns every delivery of the endpoint, newest first.
func deliveries(tb testing.TB, db *store.DB, endpointID,
	status string) []*emitter.Delivery {
	tb.Helper()
	ds, _, err := db.Deliveries(context.Background(), endpointID, status,
		1000, "")
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// onlyDelivery returns the one delivery of the endpoint.
func onlyDelivery(tb testing.TB, db *store.DB,
	endpointID string) *emitter.Delivery {
	tb.Helper()
	ds := deliveries(tb, db, endpointID, "")
	if len(ds) != 1 {
		tb.Fatalf("endpoint has %d deliveries, want 1", len(ds))
	}
	return ds[0]
}

func endpoint(tb testing.TB, db *store.DB, id string) *emitter.Endpoint {
	tb.Helper()
	ep, err := db.Endpoint(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func TestDispatcherRetriesUntilSuccess(t *testing.T) {
	db := openDB(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := addEndpoint(t, db, rc.URL)
	ev := addClick(t, db)
	startDispatcher(t, db, emitter.Options{RetryInitial: 2 * time.Millisecond})

	waitFor(t, "the delivery to succeed", func() bool {
		return onlyDelivery(t, db, ep.ID).Status == emitter.Succeeded
	})
	dl := onlyDelivery(t, db, ep.ID)
	if dl.Attempts != 3 || dl.LastStatusCode != 204 || dl.LastError != "" {
		t.Errorf("delivery = %+v, want 3 attempts ending in 204", dl)
	}
	attempts, err := db.Attempts(context.Background(), dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, a := range attempts {
		codes = append(codes, a.StatusCode)
	}
	if diff := cmp.Diff([]int{500, 500, 204}, codes); diff != "" {
		t.Errorf("attempt status codes (-want +got):\n%s", diff)
	}

	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.header.Get(emitter.HeaderID); got != ev.ID {
			t.Errorf("request %d webhook-id = %q, want %q", i, got, ev.ID)
		}
		if !bytes.Equal(r.body, ev.Body) {
			t.Errorf("request %d body = %s, want %s", i, r.body, ev.Body)
		}
		err := emitter.Verify(ep.Secrets[0].Value, r.header, r.body,
			time.Now(), 0)
		if err != nil {
			t.Errorf("request %d does not verify: %v", i, err)
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("request %d Content-Type = %q", i, got)
		}
	}
	waitFor(t, "the failure streak to clear", func() bool {
		return endpoint(t, db, ep.ID).FailingSince.IsZero()
	})
}

func TestDispatcherGoneDisablesEndpoint(t *testing.T) {
	db := openDB(t)
	rc := newReceiver(t, status(http.StatusGone))
	ep := addEndpoint(t, db, rc.URL)
	addClick(t, db)
	startDispatcher(t, db, emitter.Options{RetryInitial: time.Hour})

	waitFor(t, "the endpoint to be disabled", func() bool {
		return endpoint(t, db, ep.ID).Disabled
	})
	got := endpoint(t, db, ep.ID)
	if got.DisabledReason != "endpoint answered 410 Gone" {
		t.Errorf("DisabledReason = %q", got.DisabledReason)
	}
	dl := onlyDelivery(t, db, ep.ID)
	if dl.Status != emitter.Pending || dl.LastStatusCode != 410 {
		t.Errorf("delivery = %+v, want pending after a 410", dl)
	}

	// A disabled endpoint gets no new deliveries.
	addClick(t, db)
	if n := len(deliveries(t, db, ep.ID, "")); n != 1 {
		t.Errorf("disabled endpoint has %d deliveries, want 1", n)
	}
}

func TestDispatcherDoesNotFollowRedirects(t *testing.T) {
	db := openDB(t)
	target := newReceiver(t, status(http.StatusNoContent))
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	ep := addEndpoint(t, db, rc.URL)
	addClick(t, db)
	startDispatcher(t, db, emitter.Options{RetryInitial: time.Hour})

	waitFor(t, "the first attempt", func() bool {
		return onlyDelivery(t, db, ep.ID).Attempts == 1
	})
	dl := onlyDelivery(t, db, ep.ID)
	if dl.Status != emitter.Pending || dl.LastStatusCode != 302 ||
		dl.LastError != "redirect 302 not followed" {
		t.Errorf("delivery = %+v, want a pending failure after a 302", dl)
	}
	if endpoint(t, db, ep.ID).FailingSince.IsZero() {
		t.Error("a 302 did not count as a failure of the endpoint")
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

func TestDispatcherSlowEndpointDoesNotDelayOthers(t *testing.T) {
	db := openDB(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	})
	fast := newReceiver(t, status(http.StatusNoContent))
	slowEP := addEndpoint(t, db, slow.URL)
	fastEP := addEndpoint(t, db, fast.URL)
	const n = 20
	for range n {
		addClick(t, db)
	}
	startDispatcher(t, db, emitter.Options{PerEndpoint: 2,
		Timeout: 5 * time.Second, RetryInitial: time.Hour})
	// Runs before the dispatcher stops, so its attempts can finish.
	t.Cleanup(func() { close(release) })

	waitFor(t, "the slow endpoint to hold its attempts", func() bool {
		return len(slow.requests()) == 2
	})
	waitFor(t, "the fast endpoint's deliveries", func() bool {
		return len(deliveries(t, db, fastEP.ID, emitter.Succeeded)) == n
	})
	if got := len(slow.requests()); got != 2 {
		t.Errorf("slow endpoint got %d requests, want its 2 blocked ones",
			got)
	}
	if got := deliveries(t, db, slowEP.ID, emitter.Succeeded); len(got) != 0 {
		t.Errorf("slow endpoint has %d succeeded deliveries, want 0",
			len(got))
	}
}

func TestDispatcherTimeout(t *testing.T) {
	db := openDB(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ep := addEndpoint(t, db, rc.URL)
	addClick(t, db)
	startDispatcher(t, db, emitter.Options{Timeout: 200 * time.Millisecond,
		RetryInitial: time.Hour})
	t.Cleanup(func() { close(release) })

	waitFor(t, "the attempt to time out", func() bool {
		return onlyDelivery(t, db, ep.ID).Attempts == 1
	})
	dl := onlyDelivery(t, db, ep.ID)
	if dl.Status != emitter.Pending || dl.LastError != "timeout" {
		t.Errorf("delivery = %+v, want pending with LastError timeout", dl)
	}
	attempts, err := db.Attempts(context.Background(), dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 1 || attempts[0].Duration < 200*time.Millisecond {
		t.Errorf("attempts = %+v, want one lasting the 200ms timeout",
			attempts)
	}
}

func TestDispatcherGuardRefusesLoopback(t *testing.T) {
	db := openDB(t)
	rc := newReceiver(t, status(http.StatusNoContent))
	ep := addEndpoint(t, db, rc.URL)
	addClick(t, db)
	startDispatcher(t, db, emitter.Options{Guard: &emitter.Guard{},
		RetryInitial: time.Hour})

	waitFor(t, "the refused attempt", func() bool {
		return onlyDelivery(t, db, ep.ID).Attempts == 1
	})
	if got := onlyDelivery(t, db, ep.ID).LastError; got !=
		emitter.ErrForbiddenAddress.Error() {
		t.Errorf("LastError = %q, want %q", got, emitter.ErrForbiddenAddress)
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("loopback receiver got %d requests, want 0", n)
	}
}
