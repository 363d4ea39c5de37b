package emitter

import (
	"errors"
	"time"
)

// Errors of the emitter's domain.
var (
	// ErrEndpointNotFound reports an unknown webhook endpoint id.
	ErrEndpointNotFound = errors.New("webhook endpoint not found")
	// ErrDeliveryNotFound reports an unknown delivery id.
	ErrDeliveryNotFound = errors.New("delivery not found")
)

// RotationOverlap is how long a rotated-out secret keeps signing.
const RotationOverlap = 24 * time.Hour

// Secret is one signing secret of an endpoint. A zero Expires means it
// never expires.
type Secret struct {
	Value   string    `json:"value"`
	Expires time.Time `json:"expires,omitzero"`
}

// Endpoint is a webhook receiver registered by a campaign owner. An empty
// CampaignID receives every campaign's events.
type Endpoint struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	CampaignID  string    `json:"campaignId"`
	Description string    `json:"description"`
	Secrets     []Secret  `json:"secrets"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"createdAt"`

	// FailingSince is the time of the first failed attempt after the
	// last success; zero while the endpoint succeeds.
	FailingSince time.Time `json:"failingSince,omitzero"`
	// DisabledReason says why the emitter disabled the endpoint.
	DisabledReason string `json:"disabledReason,omitempty"`
}

// Wants reports whether the endpoint subscribes to events of type typ in
// campaign. A disabled endpoint wants nothing.
func (e *Endpoint) Wants(typ, campaign string) bool {
	if e.Disabled {
		return false
	}
	if e.CampaignID != "" && e.CampaignID != campaign {
		return false
	}
	for _, t := range e.Events {
		if t == typ {
			return true
		}
	}
	return false
}

// SigningSecrets returns the secrets that sign at time now, newest first.
func (e *Endpoint) SigningSecrets(now time.Time) []string {
	out := make([]string, 0, len(e.Secrets))
	for _, s := range e.Secrets {
		if s.Expires.IsZero() || now.Before(s.Expires) {
			out = append(out, s.Value)
		}
	}
	return out
}

// Delivery statuses.
const (
	Pending   = "pending"
	Succeeded = "succeeded"
	Dead      = "dead"
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID             string    `json:"id"`
	EndpointID     string    `json:"endpointId"`
	EventID        string    `json:"eventId"`
	EventType      string    `json:"eventType"`
	EventTime      time.Time `json:"eventTime"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	LastStatusCode int       `json:"lastStatusCode,omitempty"`
	LastError      string    `json:"lastError,omitempty"`
	NextAttemptAt  time.Time `json:"nextAttemptAt,omitzero"`
	CreatedAt      time.Time `json:"createdAt"`
	DeliveredAt    time.Time `json:"deliveredAt,omitzero"`
}

// Attempt records one try of a delivery.
type Attempt struct {
	DeliveryID string        `json:"deliveryId"`
	N          int           `json:"n"`
	At         time.Time     `json:"at"`
	StatusCode int           `json:"statusCode,omitempty"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration"`
}

// Job is a delivery due for an attempt, with the event it carries.
type Job struct {
	Delivery Delivery
	Event    Event
}
