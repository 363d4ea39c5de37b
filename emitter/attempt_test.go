package emitter

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// attemptNow is the clock of the outcome tests, a whole second so that
// HTTP dates round-trip.
var attemptNow = time.Date(2024, 1, 28, 12, 0, 0, 0, time.UTC)

func newTestDispatcher(tb testing.TB) *Dispatcher {
	tb.Helper()
	return NewDispatcher(nil, Options{RetryInitial: 5 * time.Second,
		RetryMaxAge: 72 * time.Hour, Guard: &Guard{AllowPrivate: true}})
}

// pendingDelivery returns a delivery that has been tried attempts times,
// for an event that happened age ago.
func pendingDelivery(attempts int, age time.Duration) Delivery {
	return Delivery{ID: "dlv_1", EndpointID: "wh_1", EventID: "evt_1",
		EventType: LinkClicked, EventTime: attemptNow.Add(-age),
		Status: Pending, Attempts: attempts,
		NextAttemptAt: attemptNow, CreatedAt: attemptNow.Add(-age)}
}

func failed(status int) result {
	return result{status: status, err: errors.New("status " +
		http.StatusText(status))}
}

// backoffRange is the wait after attempt n with the defaults of
// backoff.NewExponentialBackOff that backoff keeps: the interval starts
// at RetryInitial (5s) and grows by 1.5 per attempt, and each wait is
// drawn from interval ± 50%.
var backoffRange = []struct {
	n      int
	lo, hi time.Duration
}{
	{1, 2500 * time.Millisecond, 7500 * time.Millisecond},
	{2, 3750 * time.Millisecond, 11250 * time.Millisecond},
	{3, 5625 * time.Millisecond, 16875 * time.Millisecond},
	{4, 8437500 * time.Microsecond, 25312500 * time.Microsecond},
	{5, 12656250 * time.Microsecond, 37968750 * time.Microsecond},
}

func TestBackoffRanges(t *testing.T) {
	d := newTestDispatcher(t)
	for _, tt := range backoffRange {
		t.Run(time.Duration(tt.n).String(), func(t *testing.T) {
			lo, hi := time.Duration(1<<62), time.Duration(0)
			for range 200 {
				w := d.backoff(tt.n)
				lo, hi = min(lo, w), max(hi, w)
			}
			// The library's draw may land one nanosecond above.
			if lo < tt.lo || hi > tt.hi+time.Nanosecond {
				t.Errorf("backoff(%d) ranged over [%v, %v], want within "+
					"[%v, %v]", tt.n, lo, hi, tt.lo, tt.hi)
			}
			if lo == hi {
				t.Errorf("backoff(%d) = %v every time, want jitter", tt.n, lo)
			}
		})
	}
}

func TestBackoffNeverExceedsMaxInterval(t *testing.T) {
	d := newTestDispatcher(t)
	for range 100 {
		if w := d.backoff(60); w > maxInterval {
			t.Fatalf("backoff(60) = %v, want at most %v", w, maxInterval)
		}
	}
}

func TestBackoffGrowsToHours(t *testing.T) {
	d := newTestDispatcher(t)
	// After 30 attempts the interval is capped at 6h; the wait is at
	// least half of it.
	if w := d.backoff(30); w < 3*time.Hour {
		t.Errorf("backoff(30) = %v, want hours", w)
	}
}

func TestOutcomeSuccess(t *testing.T) {
	d := newTestDispatcher(t)
	dl := pendingDelivery(2, time.Minute)
	dl.LastError, dl.LastStatusCode = "status 500", 500

	got, change := d.outcome(dl, result{status: 204}, attemptNow)
	want := dl
	want.Status, want.Attempts, want.LastStatusCode = Succeeded, 3, 204
	want.LastError, want.NextAttemptAt = "", time.Time{}
	want.DeliveredAt = attemptNow
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivery (-want +got):\n%s", diff)
	}

	failing := &Endpoint{ID: "wh_1", FailingSince: attemptNow.Add(-time.Hour)}
	if !change(failing) || !failing.FailingSince.IsZero() {
		t.Errorf("success on a failing endpoint: FailingSince = %v, "+
			"want cleared and reported", failing.FailingSince)
	}
	healthy := &Endpoint{ID: "wh_1"}
	if change(healthy) {
		t.Error("success on a healthy endpoint reported a change")
	}
}

func TestOutcomeFailureSchedulesRetry(t *testing.T) {
	d := newTestDispatcher(t)
	for _, tt := range backoffRange {
		t.Run(time.Duration(tt.n).String(), func(t *testing.T) {
			got, _ := d.outcome(pendingDelivery(tt.n-1, time.Minute),
				failed(500), attemptNow)
			if got.Status != Pending || got.Attempts != tt.n ||
				got.LastStatusCode != 500 || got.LastError == "" {
				t.Errorf("delivery = %+v, want pending after %d attempts "+
					"with status 500 and an error", got, tt.n)
			}
			lo, hi := attemptNow.Add(tt.lo), attemptNow.Add(tt.hi+1)
			if got.NextAttemptAt.Before(lo) || got.NextAttemptAt.After(hi) {
				t.Errorf("NextAttemptAt = now+%v, want in [now+%v, now+%v]",
					got.NextAttemptAt.Sub(attemptNow), tt.lo, tt.hi)
			}
		})
	}
}

// TestOutcomeMaxAge retries until RetryMaxAge (72h) after the delivery
// was created, the last attempt at that moment, and gives up then.
func TestOutcomeMaxAge(t *testing.T) {
	d := newTestDispatcher(t)
	tests := []struct {
		name       string
		age        time.Duration
		retryAfter time.Duration
		want       string
		next       time.Duration // after attemptNow, when pending
	}{
		{"young", time.Hour, 0, Pending, -1},
		{"last retry at max age", 72*time.Hour - time.Second, 0, Pending,
			time.Second},
		{"Retry-After within max age", 71 * time.Hour, time.Hour, Pending,
			time.Hour},
		{"Retry-After past max age", 71 * time.Hour, 2 * time.Hour, Dead, 0},
		{"at max age", 72 * time.Hour, 0, Dead, 0},
		{"older than max age", 80 * time.Hour, 0, Dead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := failed(503)
			res.retryAfter = tt.retryAfter
			got, _ := d.outcome(pendingDelivery(3, tt.age), res, attemptNow)
			if got.Status != tt.want {
				t.Errorf("Status = %q, want %q", got.Status, tt.want)
			}
			if tt.want == Dead && !got.NextAttemptAt.IsZero() {
				t.Errorf("dead delivery has NextAttemptAt %v",
					got.NextAttemptAt)
			}
			if tt.next > 0 {
				if wait := got.NextAttemptAt.Sub(attemptNow); wait != tt.next {
					t.Errorf("next attempt in %v, want %v", wait, tt.next)
				}
			}
			if got.Attempts != 4 {
				t.Errorf("Attempts = %d, want 4", got.Attempts)
			}
		})
	}

	// A message reported a month late: its event is old, its delivery new.
	t.Run("back-dated event, new delivery", func(t *testing.T) {
		dl := pendingDelivery(1, time.Minute)
		dl.EventTime = attemptNow.Add(-30 * 24 * time.Hour)
		got, _ := d.outcome(dl, failed(500), attemptNow)
		if got.Status != Pending {
			t.Errorf("Status = %q, want %q", got.Status, Pending)
		}
	})
}

// answer returns a response of status with a Retry-After of v, if any.
func answer(status int, v string) *http.Response {
	h := http.Header{}
	if v != "" {
		h.Set("Retry-After", v)
	}
	return &http.Response{StatusCode: status, Header: h}
}

func TestRetryAfter(t *testing.T) {
	date := func(d time.Duration) string {
		return attemptNow.Add(d).Format(http.TimeFormat)
	}
	tests := []struct {
		name   string
		status int
		value  string
		want   time.Duration
	}{
		{"429 seconds", 429, "120", 120 * time.Second},
		{"503 seconds", 503, "120", 120 * time.Second},
		{"429 http date", 429, date(90 * time.Second), 90 * time.Second},
		{"503 http date", 503, date(time.Hour), time.Hour},
		{"date in the past", 429, date(-time.Hour), 0},
		{"seconds capped at 6h", 429, "86400", 6 * time.Hour},
		{"huge seconds capped", 429, "99999999999999999", 6 * time.Hour},
		{"date capped at 6h", 503, date(48 * time.Hour), 6 * time.Hour},
		{"negative", 429, "-5", 0},
		{"garbage", 429, "soon", 0},
		{"absent", 429, "", 0},
		{"ignored on 500", 500, "120", 0},
		{"ignored on 502", 502, "120", 0},
		{"ignored on 410", 410, "120", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryAfter(answer(tt.status, tt.value), attemptNow)
			if got != tt.want {
				t.Errorf("retryAfter(%d, %q) = %v, want %v", tt.status,
					tt.value, got, tt.want)
			}
		})
	}
}

func TestOutcomeHonoursRetryAfter(t *testing.T) {
	d := newTestDispatcher(t)
	tests := []struct {
		name   string
		status int
		value  string
		min    time.Duration
	}{
		{"429 seconds", 429, "120", 120 * time.Second},
		{"503 http date", 503,
			attemptNow.Add(time.Hour).Format(http.TimeFormat), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := failed(tt.status)
			res.retryAfter = retryAfter(answer(tt.status, tt.value),
				attemptNow)
			got, _ := d.outcome(pendingDelivery(0, time.Minute), res,
				attemptNow)
			if wait := got.NextAttemptAt.Sub(attemptNow); wait < tt.min {
				t.Errorf("wait = %v, want at least %v", wait, tt.min)
			}
		})
	}

	t.Run("ignored on 500", func(t *testing.T) {
		res := failed(500)
		res.retryAfter = retryAfter(answer(500, "3600"), attemptNow)
		got, _ := d.outcome(pendingDelivery(0, time.Minute), res,
			attemptNow)
		if wait := got.NextAttemptAt.Sub(attemptNow); wait > 8*time.Second {
			t.Errorf("wait = %v, want the first backoff step", wait)
		}
	})
}

func TestOutcomeEndpointChange(t *testing.T) {
	const day = 24 * time.Hour
	d := newTestDispatcher(t)
	tests := []struct {
		name        string
		res         result
		ep          Endpoint
		wantChanged bool
		want        Endpoint
	}{
		{
			name:        "first failure starts the streak",
			res:         failed(500),
			wantChanged: true,
			want:        Endpoint{FailingSince: attemptNow},
		},
		{
			name:        "later failure changes nothing",
			res:         failed(500),
			ep:          Endpoint{FailingSince: attemptNow.Add(-time.Hour)},
			wantChanged: false,
			want:        Endpoint{FailingSince: attemptNow.Add(-time.Hour)},
		},
		{
			name:        "410 disables at once",
			res:         failed(http.StatusGone),
			wantChanged: true,
			want: Endpoint{FailingSince: attemptNow, Disabled: true,
				DisabledReason: "endpoint answered 410 Gone"},
		},
		{
			name:        "failing for 4 days stays enabled",
			res:         failed(500),
			ep:          Endpoint{FailingSince: attemptNow.Add(-4 * day)},
			wantChanged: false,
			want:        Endpoint{FailingSince: attemptNow.Add(-4 * day)},
		},
		{
			name:        "failing for 5 days disables",
			res:         failed(500),
			ep:          Endpoint{FailingSince: attemptNow.Add(-5 * day)},
			wantChanged: true,
			want: Endpoint{FailingSince: attemptNow.Add(-5 * day),
				Disabled: true, DisabledReason: "failing for 5 days"},
		},
		{
			name:        "timeout counts toward 5 days",
			res:         result{err: errors.New("timeout")},
			ep:          Endpoint{FailingSince: attemptNow.Add(-5*day - time.Hour)},
			wantChanged: true,
			want: Endpoint{FailingSince: attemptNow.Add(-5*day - time.Hour),
				Disabled: true, DisabledReason: "failing for 5 days"},
		},
		{
			name: "disabled endpoint keeps its reason",
			res:  failed(http.StatusGone),
			ep: Endpoint{FailingSince: attemptNow.Add(-time.Hour),
				Disabled: true, DisabledReason: "by owner"},
			wantChanged: false,
			want: Endpoint{FailingSince: attemptNow.Add(-time.Hour),
				Disabled: true, DisabledReason: "by owner"},
		},
		{
			name:        "3xx is a failure",
			res:         result{status: 302, err: errors.New("redirect")},
			wantChanged: true,
			want:        Endpoint{FailingSince: attemptNow},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl, change := d.outcome(pendingDelivery(0, time.Minute), tt.res,
				attemptNow)
			if dl.Status != Pending {
				t.Errorf("Status = %q, want %q", dl.Status, Pending)
			}
			ep := tt.ep
			if got := change(&ep); got != tt.wantChanged {
				t.Errorf("change reported %v, want %v", got, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, ep); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSendClassifiesAnswers makes single attempts against loopback
// receivers and checks how each answer is read.
func TestSendClassifiesAnswers(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			t.Error("redirect followed")
		}))
	t.Cleanup(target.Close)

	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantErr    string
		wantAfter  time.Duration
	}{
		{"204", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(204)
		}, 204, "", 0},
		{"200 with a body", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("ok"))
		}, 200, "", 0},
		{"302 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusFound)
		}, 302, "redirect 302 not followed", 0},
		{"500 ignores Retry-After", func(w http.ResponseWriter,
			_ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(500)
		}, 500, "status 500", 0},
		{"429 Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		}, 429, "status 429", 120 * time.Second},
	}
	d := newTestDispatcher(t)
	secret, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := ClickEvent("evt_1", "camp1", Lead{Phone: "+1234567890"},
		"https://example.com/", "https://s.test/abc", attemptNow)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			ep := &Endpoint{ID: "wh_1", URL: srv.URL,
				Secrets: []Secret{{Value: secret}}}
			res := d.send(ep, Job{Event: ev}, time.Now())
			errText := ""
			if res.err != nil {
				errText = res.err.Error()
			}
			if res.status != tt.wantStatus || errText != tt.wantErr ||
				res.retryAfter != tt.wantAfter {
				t.Errorf("send = status %d, error %q, retry after %v; "+
					"want %d, %q, %v", res.status, errText, res.retryAfter,
					tt.wantStatus, tt.wantErr, tt.wantAfter)
			}
		})
	}
}
