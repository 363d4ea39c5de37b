package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/tracker"
)

func (a *Admin) sendMessage(c echo.Context) error {
	var req struct {
		ID             string  `json:"id"`
		CampaignID     string  `json:"campaignId"`
		Phone          string  `json:"phone"`
		ExternalLeadID string  `json:"externalLeadId"`
		Body           string  `json:"body"`
		SentAt         *string `json:"sentAt"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	sentAt, err := parseTime("sentAt", req.SentAt)
	if err != nil {
		return err
	}
	m, err := a.Messages.Send(c.Request().Context(), tracker.Sent{
		ID: req.ID, CampaignID: req.CampaignID, Phone: req.Phone,
		ExternalLeadID: req.ExternalLeadID, Body: req.Body, SentAt: sentAt})
	if err != nil {
		return err
	}
	a.Metrics.event(emitter.LinkSent, len(m.URLs))
	return c.JSON(http.StatusCreated, map[string]any{"id": m.ID,
		"urls": m.URLs, "campaignLinks": m.CampaignLinks})
}

func (a *Admin) messageDelivered(c echo.Context) error {
	var req struct {
		DeliveredAt *string `json:"deliveredAt"`
	}
	if err := decodeOptional(c, maxBody, &req); err != nil {
		return err
	}
	at, err := parseTime("deliveredAt", req.DeliveredAt)
	if err != nil {
		return err
	}
	m, dup, err := a.Messages.Delivered(c.Request().Context(),
		c.Param("id"), at)
	if err != nil {
		return err
	}
	if !dup {
		a.Metrics.event(emitter.MessageDelivered, 1)
		if len(m.CampaignLinks) > 0 {
			a.Metrics.event(emitter.LinkDelivered, 1)
		}
	}
	return c.JSON(http.StatusOK, struct {
		ID          string    `json:"id"`
		DeliveredAt time.Time `json:"deliveredAt"`
		Duplicate   bool      `json:"duplicate"`
	}{m.ID, m.DeliveredAt, dup})
}

func (a *Admin) shortenMessage(c echo.Context) error {
	var req struct {
		CampaignID     string `json:"campaignId"`
		Phone          string `json:"phone"`
		ExternalLeadID string `json:"externalLeadId"`
		Body           string `json:"body"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	body, links, err := a.Messages.Shorten(c.Request().Context(),
		tracker.ShortenRequest{CampaignID: req.CampaignID, Phone: req.Phone,
			ExternalLeadID: req.ExternalLeadID, Body: req.Body})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"body": body,
		"links": a.views(links)})
}
