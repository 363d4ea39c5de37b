package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
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
	// event of this link happened. It is kept apart from the counters.
	LastEventAt time.Time `json:"lastEventAt,omitzero"`
	// Logged is how many visits the link's visit log holds.
	Logged int64 `json:"-"`
	// Journal is the sequence number of the last click journal record
	// applied to these counters: replaying the journal skips those up to
	// it.
	Journal uint64 `json:"-"`
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
	k := linkStatsKey(tx, code)
	if k == nil {
		return LinkStats{}, nil
	}
	s := decodeLinkStats(tx.Bucket(bucketLinkStats).Get(k))
	s.LastEventAt = getMarker(tx, k)
	return s, nil
}

// A link's counters, and its hourly points after them, are keyed by the
// link's creation time and then its code. Codes are random, so by code
// alone the links of a campaign, created in one batch and tapped in the
// same hours, would each dirty a page of their own whenever their
// counters are written; by creation time they share a few.

// statsKey returns the key of the counters of the link with code whose
// record in the links bucket is link.
func statsKey(code string, link []byte) []byte {
	// Room for a point's zero byte and hour after it.
	k := make([]byte, 8, 8+len(code)+9)
	copy(k, createdBytes(link))
	return append(k, code...)
}

// statsKeyAt returns the key of the counters of the link with code
// created at created, as statsKey does from its record.
func statsKeyAt(code string, created time.Time) []byte {
	k := statsKey(code, nil)
	binary.BigEndian.PutUint64(k, uint64(created.UnixNano()))
	return k
}

// linkPrefix returns the prefix of the keys of a link's hourly points
// and logged visits: its counters' key and a zero byte.
func linkPrefix(key []byte) []byte { return append(key, 0) }

// linkPrefixOf returns, for points and readAll, the prefix of the link
// with code in tx, or nil when there is no such link.
func linkPrefixOf(code string) func(*bolt.Tx) []byte {
	return func(tx *bolt.Tx) []byte {
		if k := linkStatsKey(tx, code); k != nil {
			return linkPrefix(k)
		}
		return nil
	}
}

// linkStatsKey returns the key of the counters of the link with code, or
// nil when there is no such link.
func linkStatsKey(tx *bolt.Tx, code string) []byte {
	link := tx.Bucket(bucketLinks).Get([]byte(code))
	if link == nil {
		return nil
	}
	return statsKey(code, link)
}

// Link counters are stored as eight big-endian 64-bit numbers: clicks,
// bot clicks, events, the first and last click times in Unix nanoseconds
// (0 for none), a 0 where schema 5 kept the dedup marker, the visits
// logged and the last journal record applied. The hot commit path reads
// and writes them without reflection. A shorter record, from before
// visits were counted or the journal kept, reads as none logged or
// applied.
const linkStatsSize = 64

func decodeLinkStats(v []byte) LinkStats {
	if len(v) < linkStatsSize-16 || len(v) > linkStatsSize || len(v)%8 != 0 {
		return LinkStats{}
	}
	n := func(i int) int64 {
		if 8*i >= len(v) {
			return 0
		}
		return int64(binary.BigEndian.Uint64(v[8*i:]))
	}
	return LinkStats{Clicks: n(0), BotClicks: n(1), Events: n(2),
		FirstClickAt: unixNano(n(3)), LastClickAt: unixNano(n(4)),
		Logged: n(6), Journal: uint64(n(7))}
}

func (s *LinkStats) encode(v []byte) []byte {
	for _, x := range []int64{s.Clicks, s.BotClicks, s.Events,
		nanos(s.FirstClickAt), nanos(s.LastClickAt), 0, s.Logged,
		int64(s.Journal)} {
		v = binary.BigEndian.AppendUint64(v, uint64(x))
	}
	return v
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
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

// clickCommit gathers what one CommitClicks transaction adds to campaign
// counters and series, so each campaign is written once per transaction.
type clickCommit struct {
	tx     *bolt.Tx
	camps  map[string]*CampaignStats
	series map[seriesPoint][2]int64
}

type seriesPoint struct {
	campaign string
	hour     int64
}

// CommitClicks stores one batch of clicks in one transaction: each
// emitted click's event, deliveries and click journal record (setting its
// Seq), the deltas in one journal record (setting DeltaSeq), the counter
// deltas of the tallies and the delivery attempts, and
// deletes up to maxTrim of the journal records up to JournalThrough.
// Clicks on links deleted meanwhile are dropped, with Seq 0. It returns
// the ids of endpoints that got new deliveries.
//
// An emitted click's counters and dedup marker reach the link's records
// with a later batch's tallies; until then its journal record stands for
// them, and Open replays what a crash left of the journal. So a click
// costs its commit appends only, and a link's record is rewritten once
// for many clicks.
func (db *DB) CommitClicks(ctx context.Context,
	b *tracker.Batch) ([]string, error) {
	var woken []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		woken = woken[:0]
		var eps []*emitter.Endpoint
		if len(b.Emitted) > 0 {
			var err error
			if eps, err = loadEndpoints(tx); err != nil {
				return err
			}
		}
		journal := appendOnly(tx, bucketJournal)
		b.DeltaSeq = 0
		if len(b.Deltas) > 0 {
			seq, err := journal.NextSequence()
			if err != nil {
				return err
			}
			if err := journal.Put(u64(seq), encodeDeltas(b.Deltas)); err != nil {
				return err
			}
			b.DeltaSeq = seq
		}
		for i := range b.Emitted {
			ids, err := putEmitted(tx, journal, eps, &b.Emitted[i])
			if err != nil {
				return err
			}
			woken = append(woken, ids...)
		}
		if err := tallyAll(tx, b.Tallies); err != nil {
			return err
		}
		for _, f := range b.Finishes {
			var err error
			f.Changed, err = finishAttempt(tx, f.Delivery, f.Was, f.Attempt,
				f.Change)
			if err != nil {
				return err
			}
		}
		return trimJournal(journal, b.JournalThrough, maxTrim)
	})
	return woken, err
}

// tallyAll adds tallies to their links' counters, in the order of the
// counters' keys, so that neighbours share pages and search paths.
// Tallies of links deleted meanwhile are dropped, and so are those of a
// link whose code a newer link has taken since.
func tallyAll(tx *bolt.Tx, tallies map[string]*tracker.Tally) error {
	type keyed struct {
		code string
		key  []byte
	}
	links := tx.Bucket(bucketLinks)
	todo := make([]keyed, 0, len(tallies))
	for code, t := range tallies {
		if k := tallyKey(links, code, t); k != nil {
			todo = append(todo, keyed{code, k})
		}
	}
	slices.SortFunc(todo, func(a, b keyed) int {
		return bytes.Compare(a.key, b.key)
	})
	cc := newClickCommit(tx)
	for _, k := range todo {
		if err := cc.update(k.code, k.key, tallies[k.code]); err != nil {
			return err
		}
	}
	return cc.finish()
}

// tallyKey returns the counters' key of the link with code that t counts
// for, or nil when the link is gone or its code now names a newer link.
func tallyKey(links *bolt.Bucket, code string, t *tracker.Tally) []byte {
	link := links.Get([]byte(code))
	if link == nil {
		return nil
	}
	k := statsKey(code, link)
	if !t.Created.IsZero() &&
		binary.BigEndian.Uint64(k) != uint64(t.Created.UnixNano()) {
		return nil
	}
	return k
}

func newClickCommit(tx *bolt.Tx) *clickCommit {
	return &clickCommit{tx: tx, camps: make(map[string]*CampaignStats),
		series: make(map[seriesPoint][2]int64)}
}

// putEmitted stores an emitted click's event, its deliveries and its
// journal record, unless its link is gone.
func putEmitted(tx *bolt.Tx, journal *bolt.Bucket, eps []*emitter.Endpoint,
	e *tracker.Emitted) ([]string, error) {
	e.Seq = 0
	if tx.Bucket(bucketLinks).Get([]byte(e.Code)) == nil {
		return nil, nil
	}
	seq, err := journal.NextSequence()
	if err != nil {
		return nil, err
	}
	if err := journal.Put(u64(seq), encodeJournal(e)); err != nil {
		return nil, err
	}
	e.Seq = seq
	return putEvent(tx, eps, e.Event)
}

// update adds t to the counters, dedup marker, hourly series and visit
// log of the link with code, whose counters' key is key, and gathers the
// campaign's share for finish.
func (cc *clickCommit) update(code string, key []byte,
	t *tracker.Tally) error {
	b := cc.tx.Bucket(bucketLinkStats)
	s := decodeLinkStats(b.Get(key))
	c := cc.camps[t.CampaignID]
	if c == nil {
		c = &CampaignStats{}
		cc.camps[t.CampaignID] = c
	}
	if s.Clicks == 0 && t.Clicks > 0 {
		isNew, err := leadIsNew(cc.tx, t.CampaignID, t.Phone, code)
		if err != nil {
			return err
		}
		if isNew {
			c.LeadsClicked++
		}
	}
	addTally(&s, t)
	if err := raiseMarker(cc.tx, key, t.LastEvent); err != nil {
		return err
	}
	c.Clicks += t.Clicks
	c.BotClicks += t.BotClicks
	c.Events += t.Events
	if err := logVisits(cc.tx, key, &s, t.Recent); err != nil {
		return err
	}
	// bbolt keeps the value until the transaction ends: a fresh one each.
	if err := b.Put(key, s.encode(make([]byte, 0, linkStatsSize))); err != nil {
		return err
	}
	for _, h := range t.Hours {
		sp := seriesPoint{t.CampaignID, h.Hour}
		p := cc.series[sp]
		cc.series[sp] = [2]int64{p[0] + h.Clicks, p[1] + h.BotClicks}
		err := addPoint(b, linkPrefix(key), h.Hour, h.Clicks, h.BotClicks)
		if err != nil {
			return err
		}
	}
	return nil
}

// finish writes the gathered campaign counters and series.
func (cc *clickCommit) finish() error {
	for id, d := range cc.camps {
		err := addCampaignStat(cc.tx, id, func(s *CampaignStats) {
			s.Clicks += d.Clicks
			s.BotClicks += d.BotClicks
			s.Events += d.Events
			s.LeadsClicked += d.LeadsClicked
		})
		if err != nil {
			return err
		}
	}
	series := cc.tx.Bucket(bucketSeries)
	for p, d := range cc.series {
		err := addPoint(series, campaignPoints(p.campaign), p.hour, d[0], d[1])
		if err != nil {
			return err
		}
	}
	return nil
}

func addTally(s *LinkStats, t *tracker.Tally) {
	s.Clicks += t.Clicks
	s.BotClicks += t.BotClicks
	s.Events += t.Events
	s.Journal = max(s.Journal, t.Seq)
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

// siblingScan is how many of a lead's other links in a campaign leadIsNew
// reads before it keeps the answer in leads_clicked instead.
const siblingScan = 64

// leadIsNew reports whether a click on the link code, its first, is the
// lead's first in campaign: no other link of the lead there was clicked,
// nor one deleted after a click. It mostly only reads, so that a lead's
// first click dirties no page of its own: leads_clicked keeps the leads
// of deleted clicked links, and those with more than siblingScan links,
// whose next check is then one lookup.
func leadIsNew(tx *bolt.Tx, campaign, phone, code string) (bool, error) {
	lead := join([]byte(campaign), []byte(phone))
	marks := tx.Bucket(bucketLeadsClicked)
	if marks.Get(lead) != nil {
		return false, nil
	}
	prefix := append(lead, 0)
	stats := tx.Bucket(bucketLinkStats)
	c := tx.Bucket(bucketLinksByCamp).Cursor()
	clicked, scanned := false, 0
	for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		scanned++
		other := string(k[len(prefix):])
		if other == code {
			continue
		}
		if key := linkStatsKey(tx, other); key != nil &&
			decodeLinkStats(stats.Get(key)).Clicks > 0 {
			clicked = true
			break
		}
	}
	if scanned > siblingScan {
		// The lead clicks now, or did before: either way it has clicked.
		return !clicked, marks.Put(lead, nil)
	}
	return !clicked, nil
}

// rememberLead keeps, for leadIsNew, that the lead of a clicked link being
// deleted has clicked in its campaign.
func rememberLead(tx *bolt.Tx, campaign, phone string) error {
	return tx.Bucket(bucketLeadsClicked).Put(
		join([]byte(campaign), []byte(phone)), nil)
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

// keptVisits is how many logged visits a link keeps.
const keptVisits = 20

// logVisits adds vs to the visit log of the link whose counters, s, are
// under key, and drops the oldest beyond keptVisits. A visit's key is the
// link's counters' key, a zero byte, the visit's time, a zero byte and a
// sequence number, so that, like their counters, the visits of links
// created together are neighbours.
func logVisits(tx *bolt.Tx, key []byte, s *LinkStats,
	vs []tracker.VisitRecord) error {
	if len(vs) == 0 {
		return nil
	}
	b := tx.Bucket(bucketVisits)
	for _, v := range vs {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := join(key, timeKey(v.At), u64(seq))
		if err := putJSON(b, k, v); err != nil {
			return err
		}
	}
	s.Logged += int64(len(vs))
	if s.Logged <= keptVisits {
		return nil
	}
	// Over the count, the log itself says how many it holds: retention
	// deletes visits without lowering the count.
	prefix := linkPrefix(key)
	c := b.Cursor()
	var all [][]byte
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		all = append(all, k)
	}
	old := all[:max(0, len(all)-keptVisits)]
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	s.Logged = int64(len(all) - len(old))
	return nil
}

// Visits returns the link's logged visits, newest first.
func (db *DB) Visits(ctx context.Context, code string) ([]tracker.VisitRecord, error) {
	out, err := readAll[tracker.VisitRecord](db, bucketVisits,
		linkPrefixOf(code))
	slices.Reverse(out)
	return out, err
}

// readAll decodes the JSON values of every key in bucket with the prefix
// that prefixOf returns (nil: none), in key order.
func readAll[T any](db *DB, bucket []byte,
	prefixOf func(*bolt.Tx) []byte) ([]T, error) {
	var out []T
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := prefixOf(tx)
		if prefix == nil {
			return nil
		}
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r T
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s %q: %w", bucket, k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
