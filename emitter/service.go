package emitter

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/akti/linkd/shortener"
)

// EndpointStore is what the Service needs from storage.
type EndpointStore interface {
	PutEndpoint(ctx context.Context, e *Endpoint) error
	Endpoint(ctx context.Context, id string) (*Endpoint, error)
	Endpoints(ctx context.Context) ([]*Endpoint, error)
	UpdateEndpoint(ctx context.Context, id string,
		fn func(*Endpoint) error) (*Endpoint, error)
	DeleteEndpoint(ctx context.Context, id string) error
	AddTestEvent(ctx context.Context, endpointID string, ev Event) (string, error)
	RetryDelivery(ctx context.Context, endpointID, id string,
		now time.Time) (*Delivery, error)
}

// Service manages webhook endpoints and keeps a Dispatcher informed. It
// is safe for concurrent use.
type Service struct {
	store EndpointStore
	guard *Guard
	disp  *Dispatcher
	ids   *IDs
	now   func() time.Time
}

// NewService returns a Service storing endpoints in store, checking their
// URLs with guard and telling disp of every change.
func NewService(store EndpointStore, guard *Guard, disp *Dispatcher,
	now func() time.Time) *Service {
	return &Service{store: store, guard: guard, disp: disp,
		ids: NewIDs(), now: now}
}

// NewEndpoint is a request to register an endpoint.
type NewEndpoint struct {
	URL         string
	Events      []string
	CampaignID  string
	Description string
}

// EndpointChange is a partial update; nil fields stay as they are.
type EndpointChange struct {
	URL         *string
	Events      *[]string
	Disabled    *bool
	Description *string
}

// Create validates req and registers an endpoint with a new secret. It
// returns a *shortener.InvalidError for bad input.
func (s *Service) Create(ctx context.Context, req NewEndpoint) (*Endpoint, error) {
	if _, err := s.guard.CheckURL(ctx, "url", req.URL); err != nil {
		return nil, err
	}
	events, err := checkEvents(req.Events)
	if err != nil {
		return nil, err
	}
	if req.CampaignID != "" {
		err := shortener.ValidateCampaignID("campaignId", req.CampaignID)
		if err != nil {
			return nil, err
		}
	}
	if err := checkDescription(req.Description); err != nil {
		return nil, err
	}
	if err := s.checkRoom(ctx, req.CampaignID); err != nil {
		return nil, err
	}
	secret, err := NewSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := ms(s.now())
	e := &Endpoint{
		ID:          s.ids.New("wh_", now),
		URL:         req.URL,
		Events:      events,
		CampaignID:  req.CampaignID,
		Description: req.Description,
		Secrets:     []Secret{{Value: secret}},
		CreatedAt:   now,
	}
	if err := s.store.PutEndpoint(ctx, e); err != nil {
		return nil, err
	}
	s.disp.Reload()
	return e, nil
}

func checkEvents(events []string) ([]string, error) {
	if events == nil {
		return slices.Clone(EventTypes), nil
	}
	if len(events) == 0 {
		return nil, shortener.Invalid("invalid_event_type", "events",
			"events must name at least one event type")
	}
	var out []string
	for _, t := range events {
		if !KnownType(t) {
			return nil, shortener.Invalid("invalid_event_type", "events",
				"unknown event type %q; known: %s", t,
				strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func checkDescription(d string) error {
	if len(d) > 1024 || strings.ContainsFunc(d, unicode.IsControl) {
		return shortener.Invalid("invalid_description", "description",
			"description must be at most 1024 bytes without control characters")
	}
	return nil
}

// MaxEndpoints is how many endpoints one campaign (or the admin's
// all-campaign endpoints) may have.
const MaxEndpoints = 100

// checkRoom refuses a new endpoint of a campaign that has MaxEndpoints.
func (s *Service) checkRoom(ctx context.Context, campaign string) error {
	eps, err := s.store.Endpoints(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range eps {
		if e.CampaignID == campaign {
			n++
		}
	}
	if n >= MaxEndpoints {
		return shortener.Invalid("too_many_endpoints", "campaignId",
			"a campaign may have at most %d webhook endpoints", MaxEndpoints)
	}
	return nil
}

// Get returns the endpoint with id, or ErrEndpointNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Endpoint, error) {
	return s.store.Endpoint(ctx, id)
}

// List returns every endpoint.
func (s *Service) List(ctx context.Context) ([]*Endpoint, error) {
	return s.store.Endpoints(ctx)
}

// Update applies ch to the endpoint with id. Enabling an endpoint again
// resumes its pending deliveries and forgets its failure streak.
func (s *Service) Update(ctx context.Context, id string,
	ch EndpointChange) (*Endpoint, error) {
	if ch.URL != nil {
		if _, err := s.guard.CheckURL(ctx, "url", *ch.URL); err != nil {
			return nil, err
		}
	}
	var events []string
	if ch.Events != nil {
		var err error
		if events, err = checkEvents(*ch.Events); err != nil {
			return nil, err
		}
	}
	if ch.Description != nil {
		if err := checkDescription(*ch.Description); err != nil {
			return nil, err
		}
	}
	e, err := s.store.UpdateEndpoint(ctx, id, func(e *Endpoint) error {
		applyChange(e, ch, events)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.disp.Reload()
	return e, nil
}

func applyChange(e *Endpoint, ch EndpointChange, events []string) {
	if ch.URL != nil {
		e.URL = *ch.URL
	}
	if events != nil {
		e.Events = events
	}
	if ch.Description != nil {
		e.Description = *ch.Description
	}
	if ch.Disabled != nil {
		if e.Disabled && !*ch.Disabled {
			e.FailingSince, e.DisabledReason = time.Time{}, ""
		}
		e.Disabled = *ch.Disabled
	}
}

// Delete removes the endpoint with id; its pending deliveries stop.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.store.DeleteEndpoint(ctx, id); err != nil {
		return err
	}
	s.disp.Reload()
	return nil
}

// RotateSecret gives the endpoint a new secret and returns it. The old
// one keeps signing beside it for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, error) {
	secret, err := NewSecret(rand.Reader)
	if err != nil {
		return "", err
	}
	now := ms(s.now())
	_, err = s.store.UpdateEndpoint(ctx, id, func(e *Endpoint) error {
		keep := []Secret{{Value: secret}}
		for _, old := range e.Secrets {
			if old.Expires.IsZero() {
				old.Expires = now.Add(RotationOverlap)
			}
			if now.Before(old.Expires) {
				keep = append(keep, old)
			}
		}
		e.Secrets = keep
		return nil
	})
	if err != nil {
		return "", err
	}
	s.disp.Reload()
	return secret, nil
}

// SendTest queues a sample lead.link_clicked event to the endpoint with id
// only and returns the delivery's id.
func (s *Service) SendTest(ctx context.Context, id string,
	baseURL string) (string, error) {
	e, err := s.store.Endpoint(ctx, id)
	if err != nil {
		return "", err
	}
	now := s.now()
	campaign := e.CampaignID
	if campaign == "" {
		campaign = "test-campaign"
	}
	lead := Lead{Phone: "+15555550100", ExternalLeadID: "test-lead"}
	ev := ClickEvent(s.ids.New("evt_", now), campaign, lead,
		"https://example.com/destination", baseURL+"/TestCode", now)
	dlv, err := s.store.AddTestEvent(ctx, id, ev)
	if err != nil {
		return "", fmt.Errorf("add test event: %w", err)
	}
	s.disp.Wake([]string{id})
	return dlv, nil
}

// Retry makes a delivery of the endpoint pending again, due now, also a
// dead one. It returns ErrDeliveryNotFound.
func (s *Service) Retry(ctx context.Context, endpointID,
	id string) (*Delivery, error) {
	d, err := s.store.RetryDelivery(ctx, endpointID, id, s.now().UTC())
	if err != nil {
		return nil, err
	}
	s.disp.Wake([]string{endpointID})
	return d, nil
}
