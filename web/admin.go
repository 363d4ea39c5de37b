// Package web is linkd's HTTP surface: the public listener's redirects
// and the admin listener's JSON API. It is the only package that knows
// echo; handlers decode, call the domain and encode, and one error handler
// writes every error in the spec's shape.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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
	Ready          func() bool
	Log            *slog.Logger
	Now            func() time.Time
}

// Handler returns the admin listener's handler.
func (a *Admin) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(a.Log)
	e.GET("/healthz", healthz)
	e.GET("/readyz", a.readyz)

	api := e.Group("/api/v1", a.authenticate)
	api.POST("/links", a.createLink, adminOnly)
	api.POST("/links/batch", a.createBatch, adminOnly)
	api.GET("/links", a.listLinks)
	api.GET("/links/:code", a.getLink)
	api.PATCH("/links/:code", a.patchLink, adminOnly)
	api.DELETE("/links/:code", a.deleteLink, adminOnly)
	api.GET("/links/:code/stats", a.linkStats)
	api.GET("/links/:code/visits", a.linkVisits)
	api.GET("/campaigns/:id/stats", a.campaignStats)

	api.POST("/messages", a.sendMessage, adminOnly)
	api.POST("/messages/shorten", a.shortenMessage, adminOnly)
	api.POST("/messages/:id/delivered", a.messageDelivered, adminOnly)

	api.POST("/webhooks", a.createWebhook)
	api.GET("/webhooks", a.listWebhooks)
	api.GET("/webhooks/:id", a.getWebhook)
	api.PATCH("/webhooks/:id", a.patchWebhook)
	api.DELETE("/webhooks/:id", a.deleteWebhook)
	api.POST("/webhooks/:id/rotate-secret", a.rotateSecret)
	api.POST("/webhooks/:id/test", a.testWebhook)
	api.GET("/webhooks/:id/deliveries", a.listDeliveries)
	api.GET("/webhooks/:id/deliveries/:did", a.getDelivery)
	api.POST("/webhooks/:id/deliveries/:did/retry", a.retryDelivery)
	api.RouteNotFound("/*", func(echo.Context) error { return errNotFound })
	return e
}

func (a *Admin) readyz(c echo.Context) error {
	if a.Ready != nil && !a.Ready() {
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// caller is who made a request: the admin, or a campaign key.
type caller struct {
	admin     bool
	campaigns []string
}

// allows reports whether the caller may see campaign's resources.
func (c *caller) allows(campaign string) bool {
	if c.admin {
		return true
	}
	for _, id := range c.campaigns {
		if id == campaign {
			return true
		}
	}
	return false
}

const callerKey = "linkd.caller"

func callerOf(c echo.Context) *caller { return c.Get(callerKey).(*caller) }

// authenticate identifies the bearer of the request's token.
func (a *Admin) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(
			c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return errUnauthorized
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], a.AdminTokenHash) != 1 {
			return errUnauthorized
		}
		c.Set(callerKey, &caller{admin: true})
		return next(c)
	}
}

// adminOnly refuses campaign keys.
func adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !callerOf(c).admin {
			return errForbidden
		}
		return next(c)
	}
}
