package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
)

type endpointView struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	CampaignID     string    `json:"campaignId,omitempty"`
	Description    string    `json:"description"`
	Secret         string    `json:"secret,omitempty"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabledReason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

func endpointOf(e *emitter.Endpoint) endpointView {
	return endpointView{ID: e.ID, URL: e.URL, Events: e.Events,
		CampaignID: e.CampaignID, Description: e.Description,
		Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		CreatedAt: e.CreatedAt}
}

func (a *Admin) createWebhook(c echo.Context) error {
	var req struct {
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		CampaignID  string   `json:"campaignId"`
		Description string   `json:"description"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	cl := callerOf(c)
	if req.CampaignID == "" && !cl.admin {
		return shortener.Invalid("missing_field", "campaignId",
			"campaignId is required for a campaign key")
	}
	if !cl.allows(req.CampaignID) {
		return errForbidden
	}
	e, err := a.Webhooks.Create(c.Request().Context(), emitter.NewEndpoint{
		URL: req.URL, Events: req.Events, CampaignID: req.CampaignID,
		Description: req.Description})
	if err != nil {
		return err
	}
	v := endpointOf(e)
	v.Secret = e.Secrets[0].Value
	return c.JSON(http.StatusCreated, v)
}

func (a *Admin) listWebhooks(c echo.Context) error {
	eps, err := a.Webhooks.List(c.Request().Context())
	if err != nil {
		return err
	}
	cl := callerOf(c)
	out := []endpointView{}
	for _, e := range eps {
		if cl.admin || (e.CampaignID != "" && cl.allows(e.CampaignID)) {
			out = append(out, endpointOf(e))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": out})
}

// scopedEndpoint returns the endpoint the path names if the caller may
// see it. An endpoint of every campaign is the admin's alone.
func (a *Admin) scopedEndpoint(c echo.Context) (*emitter.Endpoint, error) {
	e, err := a.Webhooks.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	cl := callerOf(c)
	if !cl.admin && (e.CampaignID == "" || !cl.allows(e.CampaignID)) {
		return nil, errNotFound
	}
	return e, nil
}

func (a *Admin) getWebhook(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, endpointOf(e))
}

func (a *Admin) patchWebhook(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	var req struct {
		URL         *string   `json:"url"`
		Events      *[]string `json:"events"`
		Disabled    *bool     `json:"disabled"`
		Description *string   `json:"description"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	e, err = a.Webhooks.Update(c.Request().Context(), e.ID,
		emitter.EndpointChange{URL: req.URL, Events: req.Events,
			Disabled: req.Disabled, Description: req.Description})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, endpointOf(e))
}

func (a *Admin) deleteWebhook(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	if err := a.Webhooks.Delete(c.Request().Context(), e.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *Admin) rotateSecret(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	secret, err := a.Webhooks.RotateSecret(c.Request().Context(), e.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"secret": secret})
}

func (a *Admin) testWebhook(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	id, err := a.Webhooks.SendTest(c.Request().Context(), e.ID, a.BaseURL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"deliveryId": id})
}

type deliveryView struct {
	ID             string            `json:"id"`
	EventID        string            `json:"eventId"`
	EventType      string            `json:"eventType"`
	Status         string            `json:"status"`
	Attempts       int               `json:"attempts"`
	LastStatusCode *int              `json:"lastStatusCode"`
	LastError      *string           `json:"lastError"`
	NextAttemptAt  *time.Time        `json:"nextAttemptAt"`
	CreatedAt      time.Time         `json:"createdAt"`
	DeliveredAt    *time.Time        `json:"deliveredAt"`
	AttemptLog     []emitter.Attempt `json:"attemptLog,omitempty"`
}

func deliveryOf(d *emitter.Delivery) deliveryView {
	v := deliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType,
		Status: d.Status, Attempts: d.Attempts, CreatedAt: d.CreatedAt,
		NextAttemptAt: timePtr(d.NextAttemptAt),
		DeliveredAt:   timePtr(d.DeliveredAt)}
	if d.LastStatusCode != 0 {
		v.LastStatusCode = &d.LastStatusCode
	}
	if d.LastError != "" {
		v.LastError = &d.LastError
	}
	return v
}

func (a *Admin) listDeliveries(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", emitter.Pending, emitter.Succeeded, emitter.Dead:
	default:
		return shortener.Invalid("invalid_status", "status",
			"status must be pending, succeeded or dead")
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	ds, next, err := a.Deliveries.Deliveries(c.Request().Context(), e.ID,
		status, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	out := make([]deliveryView, len(ds))
	for i, d := range ds {
		out[i] = deliveryOf(d)
	}
	resp := map[string]any{"deliveries": out}
	if next != "" {
		resp["nextCursor"] = next
	}
	return c.JSON(http.StatusOK, resp)
}

func (a *Admin) getDelivery(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := a.Deliveries.Delivery(ctx, c.Param("did"))
	if err != nil {
		return err
	}
	if d.EndpointID != e.ID {
		return errNotFound
	}
	v := deliveryOf(d)
	if v.AttemptLog, err = a.Deliveries.Attempts(ctx, d.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (a *Admin) retryDelivery(c echo.Context) error {
	e, err := a.scopedEndpoint(c)
	if err != nil {
		return err
	}
	d, err := a.Webhooks.Retry(c.Request().Context(), e.ID, c.Param("did"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, deliveryOf(d))
}
