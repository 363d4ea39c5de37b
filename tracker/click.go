package tracker

import (
	"slices"
	"time"

	"github.com/akti/linkd/emitter"
)

// RecentVisits is how many of a link's latest bot visits a Tally keeps.
const RecentVisits = 8

// VisitRecord is one logged bot visit: when, why it was not a lead's
// click, and the User-Agent, cut to 256 bytes. Leads' clicks are counted
// and, when they fire, delivered as events, but not logged here.
type VisitRecord struct {
	At     time.Time `json:"at"`
	Reason Reason    `json:"reason"`
	Agent  string    `json:"userAgent"`
}

// Tally is what a link's visits add to its counters between two folds.
// First and Last are the times of its first and last lead's click; Hours
// counts its visits by the hour they fell in, for the hourly series;
// Recent holds up to RecentVisits of its latest bot visits (nil when
// there were none, so a hot link's tally stays small). Events counts its
// emitted clicks, the last at LastEvent; Seq is the newest click journal
// record it holds, which the fold marks applied. Created is when the link
// was created, which orders the fold as storage orders counters.
type Tally struct {
	CampaignID string
	Phone      string
	Created    time.Time
	Clicks     int64
	BotClicks  int64
	Events     int64
	First      time.Time
	Last       time.Time
	LastEvent  time.Time
	Seq        uint64
	Hours      []Hourly
	Recent     []VisitRecord
}

// Hourly is what one hour's visits add to a link's hourly series. Hour is
// the hour's start in Unix seconds.
type Hourly struct {
	Hour      int64
	Clicks    int64
	BotClicks int64
}

// AddEvent counts a lead's click at at that emitted an event, whose click
// journal record is seq.
func (t *Tally) AddEvent(at time.Time, seq uint64) {
	t.addClick(at)
	t.Events++
	if at.After(t.LastEvent) {
		t.LastEvent = at
	}
	t.Seq = max(t.Seq, seq)
}

// addClick counts a lead's click at at.
func (t *Tally) addClick(at time.Time) {
	if t.Clicks == 0 || at.Before(t.First) {
		t.First = at
	}
	if at.After(t.Last) {
		t.Last = at
	}
	t.Clicks++
	t.hour(at.Truncate(time.Hour).Unix()).Clicks++
}

// addBot counts a bot visit and logs it, dropping the oldest logged when
// Recent is full.
func (t *Tally) addBot(v VisitRecord) {
	t.BotClicks++
	t.hour(v.At.Truncate(time.Hour).Unix()).BotClicks++
	if len(t.Recent) < RecentVisits {
		t.Recent = append(t.Recent, v)
		return
	}
	copy(t.Recent, t.Recent[1:])
	t.Recent[RecentVisits-1] = v
}

// hour returns the counts of the hour starting at h, new if need be.
// Visits mostly come in time order, so the last is tried first.
func (t *Tally) hour(h int64) *Hourly {
	for i := len(t.Hours) - 1; i >= 0; i-- {
		if t.Hours[i].Hour == h {
			return &t.Hours[i]
		}
	}
	t.Hours = append(t.Hours, Hourly{Hour: h})
	return &t.Hours[len(t.Hours)-1]
}

// Merge adds what o counts to t: the same link's visits, counted
// separately.
func (t *Tally) Merge(o *Tally) {
	if o.Clicks > 0 && (t.Clicks == 0 || o.First.Before(t.First)) {
		t.First = o.First
	}
	if o.Last.After(t.Last) {
		t.Last = o.Last
	}
	if o.LastEvent.After(t.LastEvent) {
		t.LastEvent = o.LastEvent
	}
	t.Clicks += o.Clicks
	t.BotClicks += o.BotClicks
	t.Events += o.Events
	t.Seq = max(t.Seq, o.Seq)
	for _, h := range o.Hours {
		p := t.hour(h.Hour)
		p.Clicks += h.Clicks
		p.BotClicks += h.BotClicks
	}
	if len(o.Recent) > 0 {
		t.Recent = append(t.Recent, o.Recent...)
		slices.SortStableFunc(t.Recent, func(a, b VisitRecord) int {
			return a.At.Compare(b.At)
		})
		if n := len(t.Recent) - RecentVisits; n > 0 {
			t.Recent = append(t.Recent[:0], t.Recent[n:]...)
		}
	}
}

// Emitted is a lead's click that produced a lead.link_clicked event. Its
// commit stores the event and a click journal record, whose sequence
// number the committer sets in Seq (0: the link is gone); its counters
// and dedup marker follow with a later fold of tallies.
type Emitted struct {
	Code       string
	CampaignID string
	Phone      string
	Created    time.Time // the link's creation
	At         time.Time
	Event      emitter.Event
	Seq        uint64
}

// maxAgent is how much of a User-Agent a visit log keeps.
const maxAgent = 256

func cutAgent(ua string) string {
	if len(ua) > maxAgent {
		return ua[:maxAgent]
	}
	return ua
}

// Batch is one commit's worth of clicks: counter deltas to fold into
// their links' counters (Tallies) and to journal (Deltas), both by code,
// the clicks that carry an event, and the delivery attempts to record.
// The committer journals Deltas as one record, whose sequence number it
// sets in DeltaSeq. The link records have applied every click journal
// record up to JournalThrough (0: none), so the committer may delete
// those.
type Batch struct {
	Tallies        map[string]*Tally
	Deltas         map[string]*Tally
	DeltaSeq       uint64
	Emitted        []Emitted
	Finishes       []*Finish
	JournalThrough uint64
}

// Finish is the outcome of one delivery attempt to store: the attempt,
// the delivery's new state (its schedule entry was at Was), and a change
// of its endpoint. The committer sets Changed when Change changed the
// endpoint.
type Finish struct {
	Delivery *emitter.Delivery
	Was      time.Time
	Attempt  emitter.Attempt
	Change   func(*emitter.Endpoint) bool
	Changed  bool
}
