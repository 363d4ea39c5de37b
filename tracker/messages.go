package tracker

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
)

// ErrMessageExists reports a message id that is already recorded.
var ErrMessageExists = errors.New("message id already used")

// ErrMessageNotFound reports an unknown message id.
var ErrMessageNotFound = errors.New("message not found")

// MaxBody is the longest message body accepted, in bytes.
const MaxBody = 16 << 10

// Message is an outbound SMS the platform reported as sent.
type Message struct {
	ID             string    `json:"id"`
	CampaignID     string    `json:"campaignId"`
	Phone          string    `json:"phone"`
	ExternalLeadID string    `json:"externalLeadId,omitempty"`
	Body           string    `json:"body"`
	SentAt         time.Time `json:"sentAt"`
	// URLs are the distinct URLs of the body in the order found;
	// CampaignLinks the codes of those that are linkd's own links.
	URLs          []string  `json:"urls"`
	CampaignLinks []string  `json:"campaignLinks"`
	DeliveredAt   time.Time `json:"deliveredAt,omitzero"`
}

// MessageStore stores messages with the events they cause, in one
// transaction each, and returns the ids of endpoints with new deliveries.
type MessageStore interface {
	// AddMessage stores m and events, or returns ErrMessageExists.
	AddMessage(ctx context.Context, m *Message,
		events []emitter.Event) ([]string, error)
	// MarkDelivered applies deliver to the stored message and stores the
	// events it returns; deliver returns nil events for a repeated
	// receipt. It returns ErrMessageNotFound.
	MarkDelivered(ctx context.Context, id string,
		deliver func(*Message) []emitter.Event) (*Message, []string, error)
}

// Messages records outbound messages and their delivery receipts and
// fires their events. It is safe for concurrent use.
type Messages struct {
	store   MessageStore
	links   shortener.LinkSource
	finder  *URLFinder
	base    *url.URL
	ids     *emitter.IDs
	wake    func([]string)
	now     func() time.Time
	shorten *shortener.Service
}

// NewMessages returns a Messages over store. Campaign links are short URLs
// under baseURL whose code links knows; shorten creates the links of
// Shorten; wake is told which endpoints got deliveries.
func NewMessages(store MessageStore, links shortener.LinkSource,
	shorten *shortener.Service, baseURL string, wake func([]string),
	now func() time.Time) (*Messages, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	return &Messages{
		store:   store,
		links:   links,
		finder:  NewURLFinder(base.Host),
		base:    base,
		ids:     emitter.NewIDs(),
		wake:    wake,
		now:     now,
		shorten: shorten,
	}, nil
}

// Sent is a report of an outbound message. ID and SentAt are optional.
type Sent struct {
	ID             string
	CampaignID     string
	Phone          string
	ExternalLeadID string
	Body           string
	SentAt         *time.Time
}

// Send records a sent message and fires one lead.link_sent per distinct
// URL of its body, in order, in the same transaction. It returns an
// *shortener.InvalidError for bad input and ErrMessageExists.
func (ms *Messages) Send(ctx context.Context, req Sent) (*Message, error) {
	if err := checkLead(req.CampaignID, req.Phone, req.ExternalLeadID); err != nil {
		return nil, err
	}
	if err := checkBody(req.Body); err != nil {
		return nil, err
	}
	now := ms.now().UTC().Truncate(time.Millisecond)
	m := &Message{ID: req.ID, CampaignID: req.CampaignID, Phone: req.Phone,
		ExternalLeadID: req.ExternalLeadID, Body: req.Body, SentAt: now}
	if m.ID == "" {
		m.ID = ms.ids.New("msg_", now)
	} else if err := checkMessageID(m.ID); err != nil {
		return nil, err
	}
	if req.SentAt != nil {
		if err := checkReported("sentAt", *req.SentAt, now); err != nil {
			return nil, err
		}
		m.SentAt = req.SentAt.UTC().Truncate(time.Millisecond)
	}
	m.URLs = ms.finder.Distinct(req.Body)
	if m.URLs == nil {
		m.URLs = []string{}
	}
	var err error
	if m.CampaignLinks, err = ms.campaignLinks(ctx, m.URLs); err != nil {
		return nil, err
	}

	lead := emitter.Lead{Phone: m.Phone, ExternalLeadID: m.ExternalLeadID}
	events := make([]emitter.Event, len(m.URLs))
	for i, u := range m.URLs {
		events[i] = emitter.SentEvent(ms.ids.New("evt_", now), m.CampaignID,
			lead, u, m.SentAt)
	}
	woken, err := ms.store.AddMessage(ctx, m, events)
	if err != nil {
		return nil, err
	}
	ms.wake(woken)
	return m, nil
}

// campaignLinks returns the codes of the urls that are linkd's own links.
func (ms *Messages) campaignLinks(ctx context.Context,
	urls []string) ([]string, error) {
	codes := []string{}
	for _, u := range urls {
		code, ok := ms.shortCode(u)
		if !ok {
			continue
		}
		_, err := ms.links.Link(ctx, code)
		if errors.Is(err, shortener.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		codes = append(codes, code)
	}
	return codes, nil
}

// shortCode returns the code of a URL on the base URL's host, with or
// without a scheme.
func (ms *Messages) shortCode(raw string) (string, bool) {
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme := strings.ToLower(raw[:i])
		if scheme != "http" && scheme != "https" {
			return "", false
		}
		raw = raw[i+3:]
	}
	host, path, _ := strings.Cut(raw, "/")
	if !strings.EqualFold(host, ms.base.Host) {
		return "", false
	}
	path, _, _ = strings.Cut(path, "?")
	path, _, _ = strings.Cut(path, "#")
	return shortener.CodeFromPath(path)
}

// Delivered records a delivery receipt at at (now when nil) and fires
// lead.message_delivered, and lead.link_delivered when the body held a
// campaign link. A repeated receipt fires nothing and reports duplicate.
// It returns ErrMessageNotFound.
func (ms *Messages) Delivered(ctx context.Context, id string,
	at *time.Time) (m *Message, duplicate bool, err error) {
	when := ms.now()
	if at != nil {
		if err := checkReported("deliveredAt", *at, when); err != nil {
			return nil, false, err
		}
		when = *at
	}
	when = when.UTC().Truncate(time.Millisecond)
	m, woken, err := ms.store.MarkDelivered(ctx, id,
		func(m *Message) []emitter.Event {
			duplicate = !m.DeliveredAt.IsZero()
			if duplicate {
				return nil
			}
			m.DeliveredAt = when
			return ms.deliveredEvents(m)
		})
	if err != nil {
		return nil, false, err
	}
	ms.wake(woken)
	return m, duplicate, nil
}

func (ms *Messages) deliveredEvents(m *Message) []emitter.Event {
	lead := emitter.Lead{Phone: m.Phone, ExternalLeadID: m.ExternalLeadID}
	now := ms.now()
	evs := []emitter.Event{emitter.DeliveredEvent(ms.ids.New("evt_", now),
		emitter.MessageDelivered, m.CampaignID, lead, m.Body, m.DeliveredAt)}
	if len(m.CampaignLinks) > 0 {
		evs = append(evs, emitter.DeliveredEvent(ms.ids.New("evt_", now),
			emitter.LinkDelivered, m.CampaignID, lead, m.Body, m.DeliveredAt))
	}
	return evs
}

func checkLead(campaign, phone, leadID string) error {
	if err := shortener.ValidateCampaignID("campaignId", campaign); err != nil {
		return err
	}
	if err := shortener.ValidatePhone("phone", phone); err != nil {
		return err
	}
	return shortener.ValidateExternalLeadID("externalLeadId", leadID)
}

func checkBody(body string) error {
	switch {
	case body == "":
		return shortener.Invalid("missing_field", "body", "body is required")
	case len(body) > MaxBody:
		return shortener.Invalid("invalid_body", "body",
			"body must be at most %d bytes", MaxBody)
	}
	return nil
}

// maxReportLead is how far a reported time (sentAt, deliveredAt) may be
// ahead of linkd's clock, for clocks that disagree.
const maxReportLead = 24 * time.Hour

// checkReported refuses a reported time t that cannot be an SMS's: before
// 2000 or more than maxReportLead after now. A late report may be of any
// age after that.
func checkReported(field string, t, now time.Time) error {
	earliest := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if t.Before(earliest) || t.After(now.Add(maxReportLead)) {
		return shortener.Invalid("invalid_time", field,
			"%s must be on or after 2000-01-01 and at most a day from now", field)
	}
	return nil
}

// checkMessageID allows the ids that shortener.IsID does.
func checkMessageID(id string) error {
	if !shortener.IsID(id) {
		return shortener.Invalid("invalid_message_id", "id",
			"id must be "+shortener.IDRule)
	}
	return nil
}

// ShortenRequest asks for every URL of Body to become a new per-lead link.
type ShortenRequest struct {
	CampaignID     string
	Phone          string
	ExternalLeadID string
	Body           string
}

// Shorten returns Body with every URL replaced by a new short link of the
// lead, and the links, created in one transaction. The same URL twice gets
// one link; linkd's own short links are left as they are. Text around the
// URLs is untouched. It fires nothing.
func (ms *Messages) Shorten(ctx context.Context,
	req ShortenRequest) (string, []*shortener.Link, error) {
	if err := checkLead(req.CampaignID, req.Phone, req.ExternalLeadID); err != nil {
		return "", nil, err
	}
	if err := checkBody(req.Body); err != nil {
		return "", nil, err
	}
	var spans []Span
	index := make(map[string]int)
	var reqs []shortener.NewLink
	for _, sp := range ms.finder.Find(req.Body) {
		if _, ours := ms.shortCode(sp.Text); ours {
			continue
		}
		spans = append(spans, sp)
		if _, seen := index[sp.Text]; seen {
			continue
		}
		index[sp.Text] = len(reqs)
		reqs = append(reqs, shortener.NewLink{URL: withScheme(sp.Text),
			CampaignID: req.CampaignID, Phone: req.Phone,
			ExternalLeadID: req.ExternalLeadID})
	}
	if len(reqs) == 0 {
		return req.Body, []*shortener.Link{}, nil
	}
	links, err := ms.shorten.CreateBatch(ctx, reqs)
	if err != nil {
		return "", nil, bodyURLError(err, reqs)
	}
	return replaceSpans(req.Body, spans, func(text string) string {
		return links[index[text]].ShortURL(ms.baseURL())
	}), links, nil
}

func (ms *Messages) baseURL() string {
	return strings.TrimSuffix(ms.base.String(), "/")
}

// withScheme gives a URL found without a scheme the https one.
func withScheme(u string) string {
	if i := strings.Index(u, "://"); i > 0 && i < 6 {
		return u
	}
	return "https://" + u
}

// bodyURLError names the URL of the body a batch refused.
func bodyURLError(err error, reqs []shortener.NewLink) error {
	var be *shortener.BatchError
	var inv *shortener.InvalidError
	if errors.As(err, &be) && errors.As(be.Err, &inv) {
		return shortener.Invalid(inv.Code, "body",
			"the URL %q in body cannot be shortened: %s", reqs[be.Index].URL,
			inv.Message)
	}
	return err
}

// replaceSpans returns body with each span's text replaced by with(text).
func replaceSpans(body string, spans []Span, with func(string) string) string {
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(body[last:sp.Start])
		b.WriteString(with(sp.Text))
		last = sp.End
	}
	b.WriteString(body[last:])
	return b.String()
}
