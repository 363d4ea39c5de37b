package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/tracker"
)

type linkRequest struct {
	URL            string  `json:"url"`
	CampaignID     string  `json:"campaignId"`
	Phone          string  `json:"phone"`
	ExternalLeadID string  `json:"externalLeadId"`
	Code           string  `json:"code"`
	ExpiresAt      *string `json:"expiresAt"`
}

func (r linkRequest) toNewLink() (shortener.NewLink, error) {
	exp, err := parseTime("expiresAt", r.ExpiresAt)
	if err != nil {
		return shortener.NewLink{}, err
	}
	return shortener.NewLink{URL: r.URL, CampaignID: r.CampaignID,
		Phone: r.Phone, ExternalLeadID: r.ExternalLeadID, Code: r.Code,
		ExpiresAt: exp}, nil
}

// addStats fills the counters of each view.
func (a *Admin) addStats(c echo.Context, views []linkView) error {
	for i := range views {
		s, err := a.Stats.LinkStats(c.Request().Context(), views[i].Code)
		if err != nil {
			return err
		}
		views[i].Clicks, views[i].Events = &s.Clicks, &s.Events
	}
	return nil
}

type linkView struct {
	Code           string     `json:"code"`
	ShortURL       string     `json:"shortUrl"`
	URL            string     `json:"url"`
	CampaignID     string     `json:"campaignId"`
	Phone          string     `json:"phone"`
	ExternalLeadID string     `json:"externalLeadId,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	ExpiresAt      *time.Time `json:"expiresAt"`
	Disabled       bool       `json:"disabled"`
	Clicks         *int64     `json:"clicks,omitempty"`
	Events         *int64     `json:"events,omitempty"`
}

func (a *Admin) view(l *shortener.Link) linkView {
	return linkView{Code: l.Code, ShortURL: l.ShortURL(a.BaseURL), URL: l.URL,
		CampaignID: l.CampaignID, Phone: l.Phone,
		ExternalLeadID: l.ExternalLeadID, CreatedAt: l.CreatedAt,
		ExpiresAt: l.ExpiresAt, Disabled: l.Disabled}
}

func (a *Admin) views(ls []*shortener.Link) []linkView {
	out := make([]linkView, len(ls))
	for i, l := range ls {
		out[i] = a.view(l)
	}
	return out
}

func (a *Admin) createLink(c echo.Context) error {
	var req linkRequest
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	nl, err := req.toNewLink()
	if err != nil {
		return err
	}
	l, err := a.Links.Create(c.Request().Context(), nl)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a.view(l))
}

func (a *Admin) createBatch(c echo.Context) error {
	// Items are decoded one by one, so that one of the wrong shape is
	// named by its index like one that fails validation.
	var req struct {
		Links []json.RawMessage `json:"links"`
	}
	if err := decode(c, maxBatchBody, &req); err != nil {
		return err
	}
	if len(req.Links) == 0 || len(req.Links) > shortener.MaxBatch {
		return shortener.Invalid("invalid_batch", "links",
			"links must hold 1 to %d link requests", shortener.MaxBatch)
	}
	nls := make([]shortener.NewLink, len(req.Links))
	for i, raw := range req.Links {
		var r linkRequest
		var ae *apiError
		if err := json.Unmarshal(raw, &r); err != nil {
			ae = decodeError(err)
		}
		if bytes.Equal(raw, []byte("null")) || ae != nil && ae.field == "" {
			ae = badJSON("Each of links must be a JSON object.", "links")
		}
		if ae != nil {
			ae.index = i
			return ae
		}
		nl, err := r.toNewLink()
		if err != nil {
			return &shortener.BatchError{Index: i, Err: err}
		}
		nls[i] = nl
	}
	ls, err := a.Links.CreateBatch(c.Request().Context(), nls)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"links": a.views(ls)})
}

func (a *Admin) getLink(c echo.Context) error {
	l, err := a.scopedLink(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.view(l))
}

// scopedLink returns the link the path names if the caller may see it.
func (a *Admin) scopedLink(c echo.Context) (*shortener.Link, error) {
	l, err := a.Links.Get(c.Request().Context(), c.Param("code"))
	if err != nil {
		return nil, err
	}
	if !callerOf(c).allows(l.CampaignID) {
		return nil, errNotFound
	}
	return l, nil
}

func (a *Admin) listLinks(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	q := shortener.Query{
		CampaignID: c.QueryParam("campaignId"),
		Phone:      c.QueryParam("phone"),
		Limit:      limit,
		Cursor:     c.QueryParam("cursor"),
	}
	if cl := callerOf(c); !cl.admin {
		if q.CampaignID != "" && !cl.allows(q.CampaignID) {
			return c.JSON(http.StatusOK, map[string]any{
				"links": []linkView{}})
		}
		q.Campaigns = cl.campaigns
	}
	ls, next, err := a.Links.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	views := a.views(ls)
	if c.QueryParam("include") == "stats" {
		if err := a.addStats(c, views); err != nil {
			return err
		}
	}
	resp := map[string]any{"links": views}
	if next != "" {
		resp["nextCursor"] = next
	}
	return c.JSON(http.StatusOK, resp)
}

// pageLimit reads the limit query parameter: 1 to 1000, default 100.
func pageLimit(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, shortener.Invalid("invalid_limit", "limit",
			"limit must be a whole number from 1 to 1000")
	}
	return n, nil
}

func (a *Admin) patchLink(c echo.Context) error {
	var req struct {
		URL       *string         `json:"url"`
		Disabled  *bool           `json:"disabled"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	ch := shortener.Change{URL: req.URL, Disabled: req.Disabled}
	if req.ExpiresAt != nil {
		exp, err := decodeOptionalTime("expiresAt", req.ExpiresAt)
		if err != nil {
			return err
		}
		ch.ExpiresAt = &exp
	}
	l, err := a.Links.Update(c.Request().Context(), c.Param("code"), ch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.view(l))
}

// decodeOptionalTime reads a JSON null (no time) or RFC 3339 string.
func decodeOptionalTime(field string, raw json.RawMessage) (*time.Time, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badJSON(field+" must be a string or null.", field)
	}
	if s == "" {
		return nil, nil
	}
	return parseTime(field, &s)
}

func (a *Admin) deleteLink(c echo.Context) error {
	if err := a.Links.Delete(c.Request().Context(), c.Param("code")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type linkStatsView struct {
	Code         string     `json:"code"`
	Clicks       int64      `json:"clicks"`
	BotClicks    int64      `json:"botClicks"`
	Events       int64      `json:"events"`
	FirstClickAt *time.Time `json:"firstClickAt"`
	LastClickAt  *time.Time `json:"lastClickAt"`
}

func (a *Admin) linkStats(c echo.Context) error {
	l, err := a.scopedLink(c)
	if err != nil {
		return err
	}
	s, err := a.Stats.LinkStats(c.Request().Context(), l.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, linkStatsView{l.Code, s.Clicks,
		s.BotClicks, s.Events, timePtr(s.FirstClickAt),
		timePtr(s.LastClickAt)})
}

func (a *Admin) linkVisits(c echo.Context) error {
	l, err := a.scopedLink(c)
	if err != nil {
		return err
	}
	vs, err := a.Stats.Visits(c.Request().Context(), l.Code)
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []tracker.VisitRecord{}
	}
	return c.JSON(http.StatusOK, map[string]any{"visits": vs})
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
