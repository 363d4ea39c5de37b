package shortener

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"
)

// MaxBatch is the most links one batch may create.
const MaxBatch = 10000

// Store is what the Service needs from storage.
//
// CreateLinks stores all links in one transaction or none. A link with an
// empty Code gets one from newCode, checked against existing codes inside
// the transaction. A custom code already stored fails the whole call with
// a *BatchError wrapping ErrCodeTaken.
type Store interface {
	LinkSource
	CreateLinks(ctx context.Context, links []*Link,
		newCode func() (string, error)) error
	Links(ctx context.Context, q Query) ([]*Link, string, error)
	UpdateLink(ctx context.Context, code string,
		fn func(*Link) error) (*Link, error)
	DeleteLink(ctx context.Context, code string) error
}

// Query selects links for a listing. Empty fields select everything.
// Cursor is the opaque value a previous page returned.
type Query struct {
	CampaignID string
	Phone      string
	Campaigns  []string // when non-nil, only links of these campaigns
	Limit      int
	Cursor     string
}

// BatchError reports which item of a batch was refused.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return e.Err.Error() }
func (e *BatchError) Unwrap() error { return e.Err }

// NewLink is a request to create one link. Code and ExpiresAt are
// optional.
type NewLink struct {
	URL            string
	CampaignID     string
	Phone          string
	ExternalLeadID string
	Code           string
	ExpiresAt      *time.Time
}

// Change is a partial update of a link; nil fields stay as they are.
type Change struct {
	URL       *string
	Disabled  *bool
	ExpiresAt **time.Time
}

// Service creates and manages links and keeps the Resolver's cache in step
// with changes. It is safe for concurrent use.
type Service struct {
	store    Store
	resolver *Resolver
	rand     io.Reader
	now      func() time.Time
	deleted  []func(code string)
}

// OnDelete adds f to what Delete calls after a link is deleted, so that
// per-link state kept elsewhere (the dedup window) goes with it. Call it
// before the Service is shared.
func (s *Service) OnDelete(f func(code string)) {
	s.deleted = append(s.deleted, f)
}

// NewService returns a Service over store that invalidates resolver on
// every change. Codes are drawn from crypto/rand.
func NewService(store Store, resolver *Resolver) *Service {
	return &Service{
		store:    store,
		resolver: resolver,
		rand:     rand.Reader,
		now:      time.Now,
	}
}

// Create validates req and stores a new link. It returns an *InvalidError
// for bad input and ErrCodeTaken when a custom code is in use.
func (s *Service) Create(ctx context.Context, req NewLink) (*Link, error) {
	links, err := s.CreateBatch(ctx, []NewLink{req})
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			return nil, be.Err
		}
		return nil, err
	}
	return links[0], nil
}

// CreateBatch validates every request and stores them all in one
// transaction, or none. A refused item is reported as a *BatchError
// wrapping an *InvalidError or ErrCodeTaken.
func (s *Service) CreateBatch(ctx context.Context,
	reqs []NewLink) ([]*Link, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	links := make([]*Link, len(reqs))
	seen := make(map[string]int)
	for i, req := range reqs {
		l, err := buildLink(req, now)
		if err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
		if l.Code != "" {
			if _, dup := seen[l.Code]; dup {
				return nil, &BatchError{Index: i, Err: ErrCodeTaken}
			}
			seen[l.Code] = i
		}
		links[i] = l
	}
	newCode := func() (string, error) { return NewCode(s.rand) }
	if err := s.store.CreateLinks(ctx, links, newCode); err != nil {
		return nil, err
	}
	for _, l := range links {
		s.resolver.Forget(l.Code)
	}
	return links, nil
}

func buildLink(req NewLink, now time.Time) (*Link, error) {
	dest, err := NormalizeURL("url", req.URL)
	if err != nil {
		return nil, err
	}
	if err := ValidateCampaignID("campaignId", req.CampaignID); err != nil {
		return nil, err
	}
	if err := ValidatePhone("phone", req.Phone); err != nil {
		return nil, err
	}
	err = ValidateExternalLeadID("externalLeadId", req.ExternalLeadID)
	if err != nil {
		return nil, err
	}
	if req.Code != "" {
		if err := ValidateCustomCode("code", req.Code); err != nil {
			return nil, err
		}
	}
	l := &Link{
		Code:           req.Code,
		URL:            dest,
		CampaignID:     req.CampaignID,
		Phone:          req.Phone,
		ExternalLeadID: req.ExternalLeadID,
		CreatedAt:      now,
	}
	if req.ExpiresAt != nil {
		t := req.ExpiresAt.UTC()
		l.ExpiresAt = &t
	}
	return l, nil
}

// Get returns the stored link for code, or ErrNotFound.
func (s *Service) Get(ctx context.Context, code string) (*Link, error) {
	return s.store.Link(ctx, code)
}

// List returns one page of links matching q and the cursor of the next
// page, empty on the last one.
func (s *Service) List(ctx context.Context, q Query) ([]*Link, string, error) {
	return s.store.Links(ctx, q)
}

// Update applies ch to the link with code. The next Resolve sees the
// change. It returns ErrNotFound or an *InvalidError.
func (s *Service) Update(ctx context.Context, code string,
	ch Change) (*Link, error) {
	var dest string
	if ch.URL != nil {
		d, err := NormalizeURL("url", *ch.URL)
		if err != nil {
			return nil, err
		}
		dest = d
	}
	l, err := s.store.UpdateLink(ctx, code, func(l *Link) error {
		if ch.URL != nil {
			l.URL = dest
		}
		if ch.Disabled != nil {
			l.Disabled = *ch.Disabled
		}
		if ch.ExpiresAt != nil {
			l.ExpiresAt = utcPtr(*ch.ExpiresAt)
		}
		return nil
	})
	s.resolver.Forget(code)
	return l, err
}

// Delete removes the link with code; its code then answers 404. It returns
// ErrNotFound for an unknown code.
func (s *Service) Delete(ctx context.Context, code string) error {
	err := s.store.DeleteLink(ctx, code)
	s.resolver.Forget(code)
	if err == nil {
		for _, f := range s.deleted {
			f(code)
		}
	}
	return err
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
