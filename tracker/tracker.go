// Package tracker turns taps on short links into click events: it tells
// leads from link-preview bots, folds repeat clicks within the dedup
// window into one event, and commits each event durably before the
// redirect is answered. It also finds the URLs in message text.
package tracker

import (
	"context"
	"errors"
	"time"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
)

// Tracker records visits to live links. It is safe for concurrent use.
type Tracker struct {
	window   *Window
	recorder *Recorder
	ids      *emitter.IDs
	baseURL  string
	now      func() time.Time
}

// NewTracker returns a Tracker that decides events with window, stores
// them with recorder, and names short URLs under baseURL. now is the
// clock (time.Now in production).
func NewTracker(window *Window, recorder *Recorder, baseURL string,
	now func() time.Time) *Tracker {
	return &Tracker{
		window:   window,
		recorder: recorder,
		ids:      emitter.NewIDs(),
		baseURL:  baseURL,
		now:      now,
	}
}

// Visit records one request for the live link l that reason classified.
// A bot visit or a click inside the window is counted and returns at
// once. A click that opens a new window returns once its event is
// durable; an error then means the redirect must not be answered, and the
// window is left as it was, so the next click emits.
func (t *Tracker) Visit(ctx context.Context, l *shortener.Link,
	reason Reason, agent string) (emitted bool, err error) {
	now := t.now().UTC().Truncate(time.Millisecond)
	if reason != Human {
		t.recorder.Count(l, reason, agent, now)
		return false, nil
	}
	emit, prev, err := t.window.Admit(ctx, l, now)
	if err != nil {
		return false, err
	}
	if !emit {
		t.recorder.Count(l, Human, agent, now)
		return false, nil
	}

	lead := emitter.Lead{Phone: l.Phone, ExternalLeadID: l.ExternalLeadID}
	ev := emitter.ClickEvent(t.ids.New("evt_", now), l.CampaignID, lead,
		l.URL, l.ShortURL(t.baseURL), now)
	e := Emitted{Code: l.Code, CampaignID: l.CampaignID, Phone: l.Phone,
		Created: l.CreatedAt, At: ev.Time, Event: ev}
	err = t.recorder.Record(ctx, e)
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The client left; its event may still be committed, so the
		// window stays closed rather than risk a second event.
		return false, err
	case err != nil:
		t.window.Undo(l.Code, now, prev)
		return false, err
	}
	return true, nil
}

// ReasonGone marks a visit to a disabled or expired link.
const ReasonGone Reason = "link_gone"

// CountGone counts a visit to a disabled or expired link as a bot visit.
func (t *Tracker) CountGone(l *shortener.Link, agent string) {
	now := t.now().UTC().Truncate(time.Millisecond)
	t.recorder.Count(l, ReasonGone, agent, now)
}
