package store

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/tracker"
)

// LinkStats are one link's counters.
type LinkStats struct {
	Clicks       int64     `json:"clicks"`
	BotClicks    int64     `json:"botClicks"`
	Events       int64     `json:"events"`
	FirstClickAt time.Time `json:"firstClickAt,omitzero"`
	LastClickAt  time.Time `json:"lastClickAt,omitzero"`
	// LastEventAt is the dedup marker: when the last lead.link_clicked
	// event of this link happened.
	LastEventAt time.Time `json:"lastEventAt,omitzero"`
}

// CampaignStats are one campaign's counters, kept up to date in the
// transactions that change them.
type CampaignStats struct {
	Links             int64 `json:"links"`
	MessagesSent      int64 `json:"messagesSent"`
	MessagesDelivered int64 `json:"messagesDelivered"`
	LinksSent         int64 `json:"linksSent"`
	Clicks            int64 `json:"clicks"`
	BotClicks         int64 `json:"botClicks"`
	Events            int64 `json:"events"`
	LeadsClicked      int64 `json:"leadsClicked"`
}

// LinkStats returns the counters of the link with code; an unknown code
// has zero counters.
func (db *DB) LinkStats(ctx context.Context, code string) (LinkStats, error) {
	var s LinkStats
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		s, err = getLinkStats(tx, code)
		return err
	})
	return s, err
}

// LastEvent returns when the link's last click event happened, or the zero
// time. It implements tracker.Markers.
func (db *DB) LastEvent(ctx context.Context, code string) (time.Time, error) {
	s, err := db.LinkStats(ctx, code)
	return s.LastEventAt, err
}

// CampaignStats returns the counters of campaign.
func (db *DB) CampaignStats(ctx context.Context,
	campaign string) (CampaignStats, error) {
	var s CampaignStats
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketCampStats), []byte(campaign), &s)
	})
	return s, err
}

func getLinkStats(tx *bolt.Tx, code string) (LinkStats, error) {
	var s LinkStats
	err := getJSON(tx.Bucket(bucketLinkStats), []byte(code), &s)
	return s, err
}

func addCampaignStat(tx *bolt.Tx, campaign string,
	fn func(*CampaignStats)) error {
	b := tx.Bucket(bucketCampStats)
	var s CampaignStats
	if err := getJSON(b, []byte(campaign), &s); err != nil {
		return err
	}
	fn(&s)
	return putJSON(b, []byte(campaign), s)
}

// CommitClicks stores one batch of clicks in one transaction: each
// emitted click's event, deliveries, counters and dedup marker, and the
// counter deltas of the rest. Clicks on links deleted meanwhile are
// dropped. It returns the ids of endpoints that got new deliveries.
func (db *DB) CommitClicks(ctx context.Context,
	b tracker.Batch) ([]string, error) {
	var woken []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		woken = woken[:0]
		eps, err := loadEndpoints(tx)
		if err != nil {
			return err
		}
		for _, e := range b.Emitted {
			ids, err := commitEmitted(tx, eps, e)
			if err != nil {
				return err
			}
			woken = append(woken, ids...)
		}
		for code, t := range b.Tallies {
			if err := commitTally(tx, code, t); err != nil {
				return err
			}
		}
		return nil
	})
	return woken, err
}

func commitEmitted(tx *bolt.Tx, eps []*emitter.Endpoint,
	e tracker.Emitted) ([]string, error) {
	if tx.Bucket(bucketLinks).Get([]byte(e.Code)) == nil {
		return nil, nil
	}
	t := &tracker.Tally{CampaignID: e.CampaignID, Phone: e.Phone,
		Clicks: 1, First: e.At, Last: e.At, Seen: e.At}
	err := updateStats(tx, e.Code, t, func(s *LinkStats, c *CampaignStats) {
		s.Events++
		s.LastEventAt = e.At
		c.Events++
	})
	if err != nil {
		return nil, err
	}
	if err := logVisits(tx, e.Code, e.Visit()); err != nil {
		return nil, err
	}
	return putEvent(tx, eps, e.Event)
}

func commitTally(tx *bolt.Tx, code string, t *tracker.Tally) error {
	if tx.Bucket(bucketLinks).Get([]byte(code)) == nil {
		return nil
	}
	if err := logVisits(tx, code, t.Recent[:t.NRecent]...); err != nil {
		return err
	}
	return updateStats(tx, code, t, nil)
}

// keptVisits is how many logged visits a link keeps.
const keptVisits = 20

// logVisits adds vs to the link's visit log and drops the oldest beyond
// keptVisits.
func logVisits(tx *bolt.Tx, code string, vs ...tracker.VisitRecord) error {
	if len(vs) == 0 {
		return nil
	}
	b := tx.Bucket(bucketVisits)
	for _, v := range vs {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := join([]byte(code), timeKey(v.At), u64(seq))
		if err := putJSON(b, k, v); err != nil {
			return err
		}
	}
	prefix := append([]byte(code), 0)
	c := b.Cursor()
	var keys [][]byte
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, k)
	}
	for len(keys) > keptVisits {
		if err := b.Delete(keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

// Visits returns the link's logged visits, newest first.
func (db *DB) Visits(ctx context.Context, code string) ([]tracker.VisitRecord, error) {
	var out []tracker.VisitRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(code), 0)
		c := tx.Bucket(bucketVisits).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r tracker.VisitRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}

// updateStats adds t to the counters of the link and its campaign, lets
// more change them, and stores both.
func updateStats(tx *bolt.Tx, code string, t *tracker.Tally,
	more func(*LinkStats, *CampaignStats)) error {
	s, err := getLinkStats(tx, code)
	if err != nil {
		return err
	}
	var c CampaignStats
	campB, camp := tx.Bucket(bucketCampStats), []byte(t.CampaignID)
	if err := getJSON(campB, camp, &c); err != nil {
		return err
	}
	if s.Clicks == 0 && t.Clicks > 0 {
		newLead, err := markLead(tx, t.CampaignID, t.Phone)
		if err != nil {
			return err
		}
		if newLead {
			c.LeadsClicked++
		}
	}
	addTally(&s, t)
	c.Clicks += t.Clicks
	c.BotClicks += t.BotClicks
	if more != nil {
		more(&s, &c)
	}
	if err := putJSON(campB, camp, c); err != nil {
		return err
	}
	err = addPoint(tx, seriesLink, code, t.Seen, t.Clicks, t.BotClicks)
	if err != nil {
		return err
	}
	err = addPoint(tx, seriesCampaign, t.CampaignID, t.Seen, t.Clicks,
		t.BotClicks)
	if err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketLinkStats), []byte(code), s)
}

func addTally(s *LinkStats, t *tracker.Tally) {
	s.Clicks += t.Clicks
	s.BotClicks += t.BotClicks
	if t.Clicks == 0 {
		return
	}
	if s.FirstClickAt.IsZero() || t.First.Before(s.FirstClickAt) {
		s.FirstClickAt = t.First
	}
	if t.Last.After(s.LastClickAt) {
		s.LastClickAt = t.Last
	}
}

// markLead records that the lead clicked in campaign and reports whether
// that is new.
func markLead(tx *bolt.Tx, campaign, phone string) (bool, error) {
	b := tx.Bucket(bucketLeadsClicked)
	k := join([]byte(campaign), []byte(phone))
	if b.Get(k) != nil {
		return false, nil
	}
	return true, b.Put(k, nil)
}

func getJSON(b *bolt.Bucket, k []byte, v any) error {
	raw := b.Get(k)
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}
