package tracker

import (
	"time"

	"github.com/akti/linkd/emitter"
)

// Tally is what a link's visits add to its counters between two commits.
type Tally struct {
	CampaignID string
	Phone      string
	Clicks     int64
	BotClicks  int64
	First      time.Time
	Last       time.Time
}

// Emitted is a lead's click that produced a lead.link_clicked event. It is
// committed together with its own counters and dedup marker.
type Emitted struct {
	Code       string
	CampaignID string
	Phone      string
	At         time.Time
	Event      emitter.Event
}

// Batch is one commit's worth of clicks: counter deltas by code, and the
// clicks that carry an event.
type Batch struct {
	Tallies map[string]*Tally
	Emitted []Emitted
}
