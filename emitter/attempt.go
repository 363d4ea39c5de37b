package emitter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
)

const (
	// maxResponseRead caps how much of an endpoint's answer is read.
	maxResponseRead = 64 << 10
	// maxRetryAfter caps how long a Retry-After may hold a delivery.
	maxRetryAfter = 6 * time.Hour
	// maxInterval caps the backoff between two attempts.
	maxInterval = 6 * time.Hour
	// disableAfter is how long an endpoint may fail before it is disabled.
	disableAfter = 5 * 24 * time.Hour
)

func newClient(o Options) *http.Client {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           o.Guard.DialContext,
		MaxIdleConnsPerHost:   o.PerEndpoint,
		MaxConnsPerHost:       o.PerEndpoint,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// result is what one attempt's answer was.
type result struct {
	status     int
	err        error
	retryAfter time.Duration
	duration   time.Duration
}

// attempt sends j to ep once, calls sent when the exchange is over, and
// stores the outcome.
func (d *Dispatcher) attempt(ep *Endpoint, j Job, sent func()) {
	d.slots <- struct{}{}
	now := d.opts.Now().UTC()
	res := d.send(ep, j, now)
	<-d.slots
	sent()

	next, change := d.outcome(j.Delivery, res, now)
	a := Attempt{DeliveryID: j.Delivery.ID, N: next.Attempts, At: ms(now),
		StatusCode: res.status, Duration: res.duration}
	if res.err != nil {
		a.Error = res.err.Error()
	}
	d.logAttempt(ep, j, a, next)
	disabled := false
	record := func(e *Endpoint) bool {
		was := e.Disabled
		changed := change(e)
		disabled = !was && e.Disabled
		return changed
	}
	changed, err := d.store.FinishAttempt(context.Background(), &next,
		j.Delivery.NextAttemptAt, a, record)
	if err != nil {
		d.opts.Log.Warn("store attempt", "endpoint_id", ep.ID,
			"event_id", j.Event.ID, "error", err)
	}
	d.counts.count(res, next, disabled)
	if changed {
		d.Reload()
	}
}

func (d *Dispatcher) logAttempt(ep *Endpoint, j Job, a Attempt,
	next Delivery) {
	args := []any{"endpoint_id", ep.ID, "event_id", j.Event.ID,
		"attempt", a.N, "status", a.StatusCode, "duration", a.Duration}
	switch {
	case next.Status == Succeeded:
		d.opts.Log.Info("webhook delivered", args...)
	case next.Status == Dead:
		d.opts.Log.Error("webhook given up", append(args, "error", a.Error)...)
	default:
		d.opts.Log.Warn("webhook attempt failed",
			append(args, "error", a.Error)...)
	}
}

// send makes one POST of the job's event to ep.
func (d *Dispatcher) send(ep *Endpoint, j Job, now time.Time) result {
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL,
		bytes.NewReader(j.Event.Body))
	if err != nil {
		return result{err: err}
	}
	ts := now.Unix()
	sig, err := SignatureHeader(ep.SigningSecrets(now), j.Event.ID, ts,
		j.Event.Body)
	if err != nil {
		return result{err: err}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.opts.UserAgent)
	h.Set("webhook-id", j.Event.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)

	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return result{err: describe(err), duration: time.Since(start)}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	res := result{status: resp.StatusCode, duration: time.Since(start)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if err != nil {
			res.err = describe(err)
		}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.err = fmt.Errorf("redirect %d not followed", resp.StatusCode)
	default:
		res.err = fmt.Errorf("status %d", resp.StatusCode)
		res.retryAfter = retryAfter(resp, now)
	}
	return res
}

// describe shortens transport errors to what an owner can act on.
func describe(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return ErrForbiddenAddress
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return errors.New("timeout")
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// retryAfter reads a 429 or 503 answer's Retry-After, in seconds or as an
// HTTP date, capped at maxRetryAfter.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) *
			time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// outcome returns the delivery's state after an attempt with res at now,
// and the change to its endpoint, if any.
func (d *Dispatcher) outcome(dl Delivery, res result,
	now time.Time) (Delivery, func(*Endpoint) bool) {
	dl.Attempts++
	dl.LastStatusCode = res.status
	dl.LastError = ""
	if res.err == nil {
		dl.Status = Succeeded
		dl.DeliveredAt = ms(now)
		dl.NextAttemptAt = time.Time{}
		return dl, func(e *Endpoint) bool {
			was := e.FailingSince
			e.FailingSince = time.Time{}
			return !was.IsZero()
		}
	}
	dl.LastError = res.err.Error()
	// Retries go on until RetryMaxAge after linkd took the event (not
	// after its eventTime, which a late-reported message back-dates); the
	// last one is at that moment, unless the endpoint's Retry-After asks
	// for a later one.
	deadline := dl.CreatedAt.Add(d.opts.RetryMaxAge)
	wait := max(d.backoff(dl.Attempts), res.retryAfter)
	switch {
	case !now.Before(deadline), now.Add(res.retryAfter).After(deadline):
		dl.Status = Dead
		dl.NextAttemptAt = time.Time{}
	default:
		dl.NextAttemptAt = ms(now.Add(min(wait, deadline.Sub(now))))
	}
	gone := res.status == http.StatusGone
	return dl, func(e *Endpoint) bool {
		changed := false
		if e.FailingSince.IsZero() {
			e.FailingSince = now.UTC()
			changed = true
		}
		if e.Disabled {
			return changed
		}
		switch {
		case gone:
			e.Disabled, e.DisabledReason = true, "endpoint answered 410 Gone"
		case now.Sub(e.FailingSince) >= disableAfter:
			e.Disabled, e.DisabledReason = true, "failing for 5 days"
		default:
			return changed
		}
		return true
	}
}

// backoff returns the wait before attempt n+1 after n failed attempts:
// exponential from RetryInitial with ±50% jitter, at most maxInterval.
func (d *Dispatcher) backoff(n int) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = d.opts.RetryInitial
	b.MaxInterval = maxInterval
	b.MaxElapsedTime = 0
	b.Reset()
	var wait time.Duration
	for range n {
		wait = b.NextBackOff()
	}
	return min(wait, maxInterval)
}
