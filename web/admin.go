// Package web is linkd's HTTP surface: the public listener's redirects
// and the admin listener's JSON API. It is the only package that knows
// echo; handlers decode, call the domain and encode, and one error handler
// writes every error in the spec's shape.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// Stats reads the counters of links and campaigns.
type Stats interface {
	LinkStats(ctx context.Context, code string) (store.LinkStats, error)
	CampaignStats(ctx context.Context, id string) (store.CampaignStats, error)
	Visits(ctx context.Context, code string) ([]tracker.VisitRecord, error)
	LinkSeries(ctx context.Context, code string,
		since time.Time) ([]store.Point, error)
	CampaignSeries(ctx context.Context, id string,
		since time.Time) ([]store.Point, error)
	Campaigns(ctx context.Context) ([]store.Campaign, error)
}

// DeliveryLog reads deliveries and their attempts.
type DeliveryLog interface {
	Deliveries(ctx context.Context, endpointID, status string, limit int,
		cursor string) ([]*emitter.Delivery, string, error)
	Delivery(ctx context.Context, id string) (*emitter.Delivery, error)
	Attempts(ctx context.Context, deliveryID string) ([]emitter.Attempt, error)
}

// Admin serves the admin listener: /api/v1, /healthz and /readyz.
type Admin struct {
	Links      *shortener.Service
	Webhooks   *emitter.Service
	Messages   *tracker.Messages
	Stats      Stats
	Deliveries DeliveryLog
	BaseURL    string
	// AdminTokenHash is the SHA-256 of the admin bearer token.
	AdminTokenHash []byte
	Keys           Keys
	// Backups serves GET /api/v1/backup.
	Backups Backups
	// CORSOrigins are the exact browser origins allowed to call the API;
	// with none, no CORS header is ever sent.
	CORSOrigins []string
	Metrics     *Metrics
	Ready       func() bool
	Log         *slog.Logger
	Now         func() time.Time

	ids *emitter.IDs
}

// route is one API route and who may call it: the admin alone, or also a
// campaign key, whose access each handler then narrows to its campaigns
// through scopedLink, scopedEndpoint and caller.allows.
type route struct {
	method, path string
	handler      echo.HandlerFunc
	adminOnly    bool
}

// routes is the whole /api/v1 surface and its authorisation policy.
func (a *Admin) routes() []route {
	const admin, scoped = true, false
	return []route{
		{"POST", "/links", a.createLink, admin},
		{"POST", "/links/batch", a.createBatch, admin},
		{"GET", "/links", a.listLinks, scoped},
		{"GET", "/links/:code", a.getLink, scoped},
		{"PATCH", "/links/:code", a.patchLink, admin},
		{"DELETE", "/links/:code", a.deleteLink, admin},
		{"GET", "/links/:code/stats", a.linkStats, scoped},
		{"GET", "/links/:code/visits", a.linkVisits, scoped},
		{"GET", "/links/:code/series", a.linkSeries, scoped},
		{"GET", "/links/:code/qr.png", a.linkQR, scoped},
		{"GET", "/campaigns", a.listCampaigns, scoped},
		{"GET", "/campaigns/:id/stats", a.campaignStats, scoped},
		{"GET", "/campaigns/:id/series", a.campaignSeries, scoped},
		{"POST", "/messages", a.sendMessage, admin},
		{"POST", "/messages/shorten", a.shortenMessage, admin},
		{"POST", "/messages/:id/delivered", a.messageDelivered, admin},
		{"POST", "/webhooks", a.createWebhook, scoped},
		{"GET", "/webhooks", a.listWebhooks, scoped},
		{"GET", "/webhooks/:id", a.getWebhook, scoped},
		{"PATCH", "/webhooks/:id", a.patchWebhook, scoped},
		{"DELETE", "/webhooks/:id", a.deleteWebhook, scoped},
		{"POST", "/webhooks/:id/rotate-secret", a.rotateSecret, scoped},
		{"POST", "/webhooks/:id/test", a.testWebhook, scoped},
		{"GET", "/webhooks/:id/deliveries", a.listDeliveries, scoped},
		{"GET", "/webhooks/:id/deliveries/:did", a.getDelivery, scoped},
		{"POST", "/webhooks/:id/deliveries/:did/retry", a.retryDelivery, scoped},
		{"POST", "/keys", a.createKey, admin},
		{"GET", "/keys", a.listKeys, admin},
		{"DELETE", "/keys/:id", a.deleteKey, admin},
		{"GET", "/backup", a.backup, admin},
	}
}

// Routes lists the API's routes as "METHOD /api/v1/path".
func (a *Admin) Routes() []string {
	var out []string
	for _, r := range a.routes() {
		out = append(out, r.method+" /api/v1"+r.path)
	}
	return out
}

// Handler returns the admin listener's handler.
func (a *Admin) Handler() http.Handler {
	a.ids = emitter.NewIDs()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(a.Log)
	e.Pre(decodedPath)
	if len(a.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: a.CORSOrigins,
			AllowHeaders: []string{"Authorization", "Content-Type"},
			AllowMethods: []string{"GET", "POST", "PATCH", "DELETE"},
		}))
	}
	e.Use(a.logRequests)
	e.GET("/healthz", healthz)
	e.GET("/readyz", a.readyz)
	if a.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(a.Metrics.Handler()))
	}

	e.GET("/api/v1/openapi.json", openAPI)
	api := e.Group("/api/v1", a.authenticate)
	for _, r := range a.routes() {
		var mw []echo.MiddlewareFunc
		if r.adminOnly {
			mw = append(mw, adminOnly)
		}
		api.Add(r.method, r.path, r.handler, mw...)
	}
	api.RouteNotFound("/*", func(echo.Context) error { return errNotFound })
	a.mountDashboard(e)
	return e
}

// decodedPath routes a request on its decoded path, so that an id sent
// percent-encoded (sms%3A123, as encodeURIComponent writes sms:123)
// names the same resource as sent plain. A path with an encoded slash is
// routed as sent: %2F is part of a segment, never a separator, and since
// no id holds a slash it matches no resource.
func decodedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if !strings.Contains(u.RawPath, "%2F") &&
			!strings.Contains(u.RawPath, "%2f") {
			u.RawPath = ""
		}
		return next(c)
	}
}

// logRequests logs each API request: method, route, status, duration.
// Paths are logged as their route, so no code or phone reaches the log.
func (a *Admin) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		a.Log.Info("api request", "method", c.Request().Method,
			"route", c.Path(), "status", c.Response().Status,
			"duration", time.Since(start))
		return nil
	}
}

func (a *Admin) readyz(c echo.Context) error {
	if a.Ready != nil && !a.Ready() {
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
