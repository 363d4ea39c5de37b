package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
)

// seriesSpan is how far back the series answers reach.
const seriesSpan = 48 * time.Hour

func (a *Admin) seriesAnswer(c echo.Context, points []store.Point) error {
	return c.JSON(http.StatusOK, map[string]any{"interval": "hour",
		"points": points})
}

func (a *Admin) linkSeries(c echo.Context) error {
	l, err := a.scopedLink(c)
	if err != nil {
		return err
	}
	ps, err := a.Stats.LinkSeries(c.Request().Context(), l.Code,
		a.Now().Add(-seriesSpan))
	if err != nil {
		return err
	}
	return a.seriesAnswer(c, ps)
}

func (a *Admin) campaignSeries(c echo.Context) error {
	id := c.Param("id")
	if !callerOf(c).allows(id) {
		return errNotFound
	}
	ps, err := a.Stats.CampaignSeries(c.Request().Context(), id,
		a.Now().Add(-seriesSpan))
	if err != nil {
		return err
	}
	return a.seriesAnswer(c, ps)
}

type campaignView struct {
	CampaignID string `json:"campaignId"`
	statsFields
}

func (a *Admin) listCampaigns(c echo.Context) error {
	all, err := a.Stats.Campaigns(c.Request().Context())
	if err != nil {
		return err
	}
	cl := callerOf(c)
	out := []campaignView{}
	seen := make(map[string]bool)
	for _, cs := range all {
		if cl.allows(cs.ID) {
			out = append(out, campaignView{cs.ID, statsFields(cs.Stats)})
			seen[cs.ID] = true
		}
	}
	// A key's campaigns are listed even before they have any data.
	for _, id := range cl.campaigns {
		if !seen[id] {
			out = append(out, campaignView{CampaignID: id})
			seen[id] = true
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"campaigns": out})
}

func (a *Admin) campaignStats(c echo.Context) error {
	id := c.Param("id")
	if err := shortener.ValidateCampaignID("campaignId", id); err != nil {
		return errNotFound
	}
	if !callerOf(c).allows(id) {
		return errNotFound
	}
	s, err := a.Stats.CampaignStats(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, campaignView{id, statsFields(s)})
}

// statsFields inlines a campaign's counters into its answers.
type statsFields store.CampaignStats

func (a *Admin) linkQR(c echo.Context) error {
	l, err := a.scopedLink(c)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(l.ShortURL(a.BaseURL), qrcode.Medium, 512)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.Stream(http.StatusOK, "image/png", bytes.NewReader(png))
}
