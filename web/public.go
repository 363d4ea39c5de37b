package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/tracker"
)

// Visitor records a visit to a live link and reports an error when the
// redirect must not be answered.
type Visitor interface {
	Visit(ctx context.Context, l *shortener.Link, reason tracker.Reason,
		agent string) (bool, error)
	CountGone(l *shortener.Link, agent string)
}

// Public serves the short domain: redirects and /healthz.
type Public struct {
	Resolver   *shortener.Resolver
	Classifier *tracker.Classifier
	Visitor    Visitor
	// Misses limits requests for unknown codes per client; nil: none.
	Misses *MissLimiter
	// TrustForwarded takes the client address from X-Forwarded-For, for
	// a deployment behind a proxy that sets it.
	TrustForwarded bool
	Metrics        *Metrics
	Log            *slog.Logger
	Now            func() time.Time
}

// Header values shared by every redirect; net/http only reads them.
var (
	cacheNoStore = []string{"private, no-store"}
	htmlType     = []string{"text/html; charset=utf-8"}
)

const (
	pageNotFound = "<!doctype html><meta charset=utf-8><title>Link not found" +
		"</title><h1>Link not found</h1><p>This link does not exist.</p>\n"
	pageGone = "<!doctype html><meta charset=utf-8><title>Link expired" +
		"</title><h1>Link expired</h1><p>This link is no longer active.</p>\n"
	pageLimited = "<!doctype html><meta charset=utf-8><title>Too many requests" +
		"</title><h1>Too many requests</h1><p>Too many unknown links were " +
		"requested from your address. Try again later.</p>\n"
	pageUnavailable = "<!doctype html><meta charset=utf-8><title>Try again" +
		"</title><h1>Try again</h1><p>Please tap the link again in a moment." +
		"</p>\n"
)

// Handler returns the public listener's handler.
func (p *Public) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", healthz)
	e.HEAD("/healthz", healthz)
	e.GET("/*", p.redirect)
	e.HEAD("/*", p.redirect)
	e.RouteNotFound("/*", func(c echo.Context) error {
		_, err := p.miss(c)
		return err
	})
	return e
}

func healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

func (p *Public) redirect(c echo.Context) error {
	start := time.Now()
	outcome, err := p.serveCode(c)
	p.Metrics.redirect(outcome, start)
	return err
}

// serveCode answers a request for a code and says how it ended.
func (p *Public) serveCode(c echo.Context) (string, error) {
	r, w := c.Request(), c.Response()
	code, ok := shortener.CodeFromPath(r.URL.Path)
	if !ok {
		return p.miss(c)
	}
	l, err := p.Resolver.Resolve(r.Context(), code)
	if errors.Is(err, shortener.ErrNotFound) {
		return p.miss(c)
	}
	if err != nil {
		p.Log.Error("resolve code", "code", code, "error", err)
		return outcomeError, page(w, http.StatusServiceUnavailable, pageUnavailable)
	}
	if !l.Live(p.Now()) {
		p.Visitor.CountGone(l, r.UserAgent())
		return outcomeGone, page(w, http.StatusGone, pageGone)
	}

	reason := p.Classifier.Classify(r.Method, r.Header)
	emitted, err := p.Visitor.Visit(r.Context(), l, reason, r.UserAgent())
	if r.Context().Err() != nil {
		p.Log.Info("client left before its click was stored", "code", code)
		return outcomeError, r.Context().Err()
	}
	if err != nil {
		p.Log.Error("record click", "code", code, "error", err)
		return outcomeError, page(w, http.StatusServiceUnavailable, pageUnavailable)
	}
	h := w.Header()
	h["Location"] = []string{l.Destination(r.URL.RawQuery)}
	h["Cache-Control"] = cacheNoStore
	w.WriteHeader(http.StatusFound)
	lead := reason == tracker.Human
	p.Metrics.click(lead)
	if emitted {
		p.Metrics.event(emitter.LinkClicked, 1)
	}
	if lead {
		return outcomeHit, nil
	}
	return outcomeBot, nil
}

// miss answers a request for no live code: 404, or 429 once the client
// has missed too often.
func (p *Public) miss(c echo.Context) (string, error) {
	w := c.Response()
	client := clientAddr(c.Request(), p.TrustForwarded)
	if p.Misses != nil && !p.Misses.Allow(client) {
		w.Header().Set("Retry-After", p.Misses.RetryAfter())
		return outcomeLimited, page(w, http.StatusTooManyRequests, pageLimited)
	}
	return outcomeMiss, page(w, http.StatusNotFound, pageNotFound)
}

func page(w *echo.Response, status int, body string) error {
	h := w.Header()
	h["Content-Type"] = htmlType
	h["Cache-Control"] = cacheNoStore
	w.WriteHeader(status)
	_, err := w.Write([]byte(body))
	return err
}
