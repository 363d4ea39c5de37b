// Package emitter delivers linkd's events to the webhook endpoints that
// campaign owners register: it builds the event bodies, signs them the
// Standard Webhooks way, guards the outbound addresses, and retries each
// delivery with backoff until it succeeds or is given up.
package emitter

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// APIVersion is the metadata.apiVersion of every event.
const APIVersion = "2026-02-09"

// The event types.
const (
	LinkSent         = "lead.link_sent"
	LinkDelivered    = "lead.link_delivered"
	MessageDelivered = "lead.message_delivered"
	LinkClicked      = "lead.link_clicked"
)

// EventTypes lists every event type in a fixed order.
var EventTypes = []string{LinkSent, LinkDelivered, MessageDelivered, LinkClicked}

// KnownType reports whether t is one of EventTypes.
func KnownType(t string) bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Event is one event ready to be delivered: its id, type, campaign, the
// time the thing happened, and the exact JSON body every delivery sends.
type Event struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	CampaignID string    `json:"campaignId"`
	Time       time.Time `json:"time"`
	Body       []byte    `json:"body"`
}

// Lead names who an event is about.
type Lead struct {
	Phone          string
	ExternalLeadID string
}

type metadata struct {
	APIVersion string `json:"apiVersion"`
	EventType  string `json:"eventType"`
	CampaignID string `json:"campaignId"`
	EventTime  string `json:"eventTime"`
}

type urlData struct {
	Phone          string `json:"phone"`
	ExternalLeadID string `json:"externalLeadId,omitempty"`
	URL            string `json:"url"`
	ShortURL       string `json:"shortUrl,omitempty"`
}

type messageData struct {
	Phone          string `json:"phone"`
	ExternalLeadID string `json:"externalLeadId,omitempty"`
	Message        string `json:"message"`
}

type envelope struct {
	Metadata metadata `json:"metadata"`
	Data     any      `json:"data"`
}

// IDs makes sortable unique ids. It is safe for concurrent use.
type IDs struct {
	mu      sync.Mutex
	entropy io.Reader
}

// NewIDs returns an id source drawing from crypto/rand.
func NewIDs() *IDs {
	return &IDs{entropy: ulid.Monotonic(rand.Reader, 0)}
}

// New returns prefix followed by a ULID for time t.
func (g *IDs) New(prefix string, t time.Time) string {
	g.mu.Lock()
	id, err := ulid.New(ulid.Timestamp(t), g.entropy)
	g.mu.Unlock()
	if err != nil {
		// The monotonic source overflowed within one millisecond, or
		// crypto/rand failed: fall back to a fresh read.
		id = ulid.MustNew(ulid.Timestamp(t), rand.Reader)
	}
	return prefix + id.String()
}

// FormatTime writes t as the events' eventTime: UTC with milliseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ClickEvent returns the lead.link_clicked event for a click at t.
func ClickEvent(id, campaignID string, lead Lead, url, shortURL string,
	t time.Time) Event {
	d := urlData{lead.Phone, lead.ExternalLeadID, url, shortURL}
	return newEvent(id, LinkClicked, campaignID, t, d)
}

// SentEvent returns the lead.link_sent event for url found in a message
// sent at t.
func SentEvent(id, campaignID string, lead Lead, url string,
	t time.Time) Event {
	d := urlData{Phone: lead.Phone, ExternalLeadID: lead.ExternalLeadID,
		URL: url}
	return newEvent(id, LinkSent, campaignID, t, d)
}

// DeliveredEvent returns a lead.message_delivered or lead.link_delivered
// event, as typ says, for body delivered at t.
func DeliveredEvent(id, typ, campaignID string, lead Lead, body string,
	t time.Time) Event {
	d := messageData{lead.Phone, lead.ExternalLeadID, body}
	return newEvent(id, typ, campaignID, t, d)
}

func newEvent(id, typ, campaignID string, t time.Time, data any) Event {
	t = ms(t)
	env := envelope{
		Metadata: metadata{APIVersion, typ, campaignID, FormatTime(t)},
		Data:     data,
	}
	return Event{
		ID:         id,
		Type:       typ,
		CampaignID: campaignID,
		Time:       t,
		Body:       marshal(env),
	}
}

// marshal encodes v compactly without HTML escaping, so that "&" and "<"
// in URLs and messages reach consumers as written.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings and fixed structs are encoded here.
		panic("emitter: encode event: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ms returns t in UTC to the millisecond, as every stored time is.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
