package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
)

// maxProblems is how many problems a Report lists; it counts the rest.
const maxProblems = 1000

// Report is what Check found: how many records of each kind the database
// holds, and what is wrong with it.
type Report struct {
	SchemaVersion int
	// Moving is set while the move of version 3's counters and visit
	// logs to version 4's buckets, or of version 5's dedup markers to
	// version 6's bucket, is unfinished.
	Moving     bool
	Links      int
	Campaigns  int
	Endpoints  int
	Events     int
	Deliveries int
	Attempts   int
	Keys       int
	// Problems are the broken invariants, one line each, at most
	// maxProblems of them; Omitted counts the problems left out.
	Problems []string
	Omitted  int
}

// OK reports whether Check found no problem.
func (r Report) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// String sums the report up in one line, starting with "ok: " when it
// found no problem.
func (r Report) String() string {
	if !r.OK() {
		return plural(len(r.Problems)+r.Omitted, "problem", "problems")
	}
	s := "ok: " + strings.Join([]string{
		plural(r.Links, "link", "links"),
		plural(r.Campaigns, "campaign", "campaigns"),
		plural(r.Endpoints, "endpoint", "endpoints"),
		plural(r.Events, "event", "events"),
		plural(r.Deliveries, "delivery", "deliveries"),
		plural(r.Attempts, "attempt", "attempts"),
		plural(r.Keys, "key", "keys"),
	}, ", ") + fmt.Sprintf("; schema %d", r.SchemaVersion)
	if r.SchemaVersion < SchemaVersion {
		s += fmt.Sprintf(" (linkd serve migrates it to %d)", SchemaVersion)
	} else if r.Moving {
		s += " (its counters are still moving to schema 4's keys " +
			"or its dedup markers to schema 6's bucket; linkd serve " +
			"finishes the move)"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Check verifies the database in one transaction: bbolt's own check of
// its pages and free list, then linkd's invariants between buckets
// (each index entry matches its record, each pending delivery is
// scheduled, each record a key or delivery names exists, the campaign
// link counters add up). What is wrong goes in the report; the error is
// for a check that could not run, ctx's error among them.
//
// bbolt's check is safe beside concurrent writers only in a write
// transaction, so on a database from Open, Check holds the write lock and
// writes wait until it ends; on one from OpenReadOnly it reads.
func (db *DB) Check(ctx context.Context) (Report, error) {
	var r Report
	run := func(tx *bolt.Tx) error {
		return (&checker{tx: tx, r: &r}).run(ctx)
	}
	if db.bolt.IsReadOnly() {
		return r, db.bolt.View(run)
	}
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return r, err
	}
	defer tx.Rollback()
	return r, run(tx)
}

// bucketSince gives the schema version that brought each bucket added
// after version 2. A file of an older version lacks it until linkd serve
// migrates the file, and Check reads it as empty.
var bucketSince = map[string]int{string(bucketJournal): 3,
	string(bucketLinkStats): 4, string(bucketVisits): 4,
	string(bucketMarkers): 6}

// checker walks one transaction for Check.
type checker struct {
	tx          *bolt.Tx
	r           *Report
	perCampaign map[string]int64 // links counted per campaign
	steps       int
}

func (c *checker) problem(format string, args ...any) {
	if len(c.r.Problems) == maxProblems {
		c.r.Omitted++
		return
	}
	c.r.Problems = append(c.r.Problems, fmt.Sprintf(format, args...))
}

func (c *checker) run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.r.SchemaVersion = schemaVersion(c.tx)
	c.r.Moving = c.r.SchemaVersion >= 4 &&
		(c.tx.Bucket(legacyLinkStats) != nil ||
			c.tx.Bucket(legacyVisits) != nil ||
			c.tx.Bucket(bucketMeta).Get(keyMarkersFrom) != nil)
	for err := range c.tx.Check() {
		c.problem("bbolt: %v", err)
	}
	for _, name := range allBuckets {
		if c.tx.Bucket(name) == nil &&
			c.r.SchemaVersion >= bucketSince[string(name)] {
			c.problem("bucket %s is missing (linkd serve creates it)", name)
		}
	}
	if !c.r.OK() {
		c.problem("linkd's invariants were not checked")
		return ctx.Err()
	}
	for _, pass := range []func(context.Context) error{
		c.links, c.byCampaign, c.byPhone, c.campaigns, c.endpoints,
		c.events, c.deliveries, c.due, c.byEndpoint, c.attempts, c.keys,
		c.keyHashes, c.counters, c.markers, c.journal,
	} {
		if err := pass(ctx); err != nil {
			return err
		}
	}
	return nil
}

// journal checks that every click journal record decodes.
func (c *checker) journal(ctx context.Context) error {
	return c.each(ctx, bucketJournal, func(k, v []byte) {
		if _, err := journalTallies(k, v); err != nil {
			c.problem("click_journal: %v", err)
		}
	})
}

// each calls fn with every record of the bucket name, in key order, and
// stops early when ctx ends.
func (c *checker) each(ctx context.Context, name []byte,
	fn func(k, v []byte)) error {
	b := c.tx.Bucket(name)
	if b == nil {
		return nil // a bucket of a newer schema (bucketSince)
	}
	return b.ForEach(func(k, v []byte) error {
		if c.steps++; c.steps%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fn(k, v)
		return nil
	})
}

// has reports whether the bucket name holds key, also with an empty value.
func (c *checker) has(name, key []byte) bool {
	b := c.tx.Bucket(name)
	if b == nil {
		return false
	}
	k, _ := b.Cursor().Seek(key)
	return k != nil && bytes.Equal(k, key)
}

// links counts links per campaign and checks that each is stored under
// its code and listed in both indexes.
func (c *checker) links(ctx context.Context) error {
	c.perCampaign = make(map[string]int64)
	return c.each(ctx, bucketLinks, func(k, _ []byte) {
		c.r.Links++
		l, err := getLink(c.tx, string(k))
		if err != nil {
			c.problem("links: %v", err)
			return
		}
		if l.Code != string(k) {
			c.problem("links: link %q is stored under %q", l.Code, k)
		}
		c.perCampaign[l.CampaignID]++
		camp, phone := []byte(l.CampaignID), []byte(l.Phone)
		if !c.has(bucketLinksByCamp, join(camp, phone, k)) {
			c.problem("links_by_campaign: link %q of campaign %q is not "+
				"listed", k, l.CampaignID)
		}
		if !c.has(bucketLinksByPhone, join(phone, k)) {
			c.problem("links_by_phone: link %q is not listed under its "+
				"phone", k)
		}
	})
}

// byCampaign checks that every campaign index entry (campaign, phone,
// code) points at a link of that campaign and phone.
func (c *checker) byCampaign(ctx context.Context) error {
	return c.each(ctx, bucketLinksByCamp, func(k, _ []byte) {
		parts := bytes.SplitN(k, []byte{0}, 3)
		if len(parts) != 3 {
			c.problem("links_by_campaign: malformed key %q", k)
			return
		}
		camp, phone, code := parts[0], parts[1], parts[2]
		l, err := getLink(c.tx, string(code))
		switch {
		case err != nil:
			c.problem("links_by_campaign: entry of campaign %q points at "+
				"link %q: %v", camp, code, err)
		case l.CampaignID != string(camp):
			c.problem("links_by_campaign: entry of campaign %q points at "+
				"link %q of campaign %q", camp, code, l.CampaignID)
		case l.Phone != string(phone):
			c.problem("links_by_campaign: entry of campaign %q points at "+
				"link %q, which has another phone", camp, code)
		}
	})
}

// byPhone checks that every phone index entry (phone, code) points at a
// link with that phone.
func (c *checker) byPhone(ctx context.Context) error {
	return c.each(ctx, bucketLinksByPhone, func(k, _ []byte) {
		phone, code, ok := bytes.Cut(k, []byte{0})
		if !ok {
			c.problem("links_by_phone: malformed key %q", k)
			return
		}
		l, err := getLink(c.tx, string(code))
		switch {
		case err != nil:
			c.problem("links_by_phone: entry points at link %q: %v", code,
				err)
		case l.Phone != string(phone):
			c.problem("links_by_phone: entry points at link %q, which "+
				"has another phone", code)
		}
	})
}

// campaigns checks that each campaign's link counter equals the number
// of its links.
func (c *checker) campaigns(ctx context.Context) error {
	seen := make(map[string]bool)
	b := c.tx.Bucket(bucketCampStats)
	err := c.each(ctx, bucketCampStats, func(k, _ []byte) {
		c.r.Campaigns++
		seen[string(k)] = true
		var s CampaignStats
		if err := getJSON(b, k, &s); err != nil {
			c.problem("campaign_stats: campaign %q: %v", k, err)
			return
		}
		if n := c.perCampaign[string(k)]; s.Links != n {
			c.problem("campaign_stats: campaign %q counts %d links, and "+
				"%d are stored", k, s.Links, n)
		}
	})
	var missing []string
	for id := range c.perCampaign {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		c.problem("campaign_stats: campaign %q has %d links and no "+
			"counters", id, c.perCampaign[id])
	}
	return err
}

func (c *checker) endpoints(ctx context.Context) error {
	return c.each(ctx, bucketEndpoints, func(k, _ []byte) {
		c.r.Endpoints++
		ep, err := getEndpoint(c.tx, string(k))
		switch {
		case err != nil:
			c.problem("endpoints: %v", err)
		case ep.ID != string(k):
			c.problem("endpoints: endpoint %q is stored under %q", ep.ID, k)
		}
	})
}

func (c *checker) events(ctx context.Context) error {
	return c.each(ctx, bucketEvents, func(k, _ []byte) {
		c.r.Events++
		if _, err := getEvent(c.tx, string(k)); err != nil {
			c.problem("events: %v", err)
		}
	})
}

// deliveries checks that each delivery's event exists, that it is listed
// under its endpoint, and that it is scheduled at its next attempt while
// it is pending for an endpoint that exists.
func (c *checker) deliveries(ctx context.Context) error {
	return c.each(ctx, bucketDeliveries, func(k, _ []byte) {
		c.r.Deliveries++
		d, err := getDelivery(c.tx, string(k))
		if err != nil {
			c.problem("deliveries: %v", err)
			return
		}
		if d.ID != string(k) {
			c.problem("deliveries: delivery %q is stored under %q", d.ID, k)
		}
		if !c.has(bucketEvents, []byte(d.EventID)) {
			c.problem("deliveries: delivery %q carries missing event %q",
				k, d.EventID)
		}
		ep := []byte(d.EndpointID)
		if !c.has(bucketByEndpoint, join(ep, k)) {
			c.problem("deliveries_by_endpoint: delivery %q is not listed "+
				"under endpoint %q", k, ep)
		}
		switch d.Status {
		case emitter.Pending:
			if c.has(bucketEndpoints, ep) && !c.has(bucketDue,
				dueKey(d.EndpointID, d.NextAttemptAt, d.ID)) {
				c.problem("deliveries_due: pending delivery %q is not "+
					"scheduled at its next attempt %s", k,
					d.NextAttemptAt.UTC().Format(time.RFC3339Nano))
			}
		case emitter.Succeeded, emitter.Dead:
		default:
			c.problem("deliveries: delivery %q has unknown status %q", k,
				d.Status)
		}
	})
}

// due checks that every schedule entry (endpoint, time, delivery) points
// at a pending delivery of an existing endpoint whose next attempt is at
// the entry's time.
func (c *checker) due(ctx context.Context) error {
	return c.each(ctx, bucketDue, func(k, _ []byte) {
		ep, rest, ok := bytes.Cut(k, []byte{0})
		if !ok || len(rest) < 10 || rest[8] != 0 {
			c.problem("deliveries_due: malformed key %q", k)
			return
		}
		at := time.Unix(0, int64(binary.BigEndian.Uint64(rest))).UTC()
		id := rest[9:]
		if !c.has(bucketEndpoints, ep) {
			c.problem("deliveries_due: entry of delivery %q names missing "+
				"endpoint %q", id, ep)
		}
		d, err := getDelivery(c.tx, string(id))
		switch {
		case err != nil:
			c.problem("deliveries_due: entry points at delivery %q: %v",
				id, err)
		case d.EndpointID != string(ep):
			c.problem("deliveries_due: entry under endpoint %q points at "+
				"delivery %q of endpoint %q", ep, id, d.EndpointID)
		case d.Status != emitter.Pending:
			c.problem("deliveries_due: entry points at %s delivery %q",
				d.Status, id)
		case !d.NextAttemptAt.Equal(at):
			c.problem("deliveries_due: entry of delivery %q is at %s, its "+
				"next attempt at %s", id, at.Format(time.RFC3339Nano),
				d.NextAttemptAt.UTC().Format(time.RFC3339Nano))
		}
	})
}

// byEndpoint checks that every listing entry (endpoint, delivery) points
// at a delivery of that endpoint.
func (c *checker) byEndpoint(ctx context.Context) error {
	return c.each(ctx, bucketByEndpoint, func(k, _ []byte) {
		ep, id, ok := bytes.Cut(k, []byte{0})
		if !ok {
			c.problem("deliveries_by_endpoint: malformed key %q", k)
			return
		}
		d, err := getDelivery(c.tx, string(id))
		switch {
		case err != nil:
			c.problem("deliveries_by_endpoint: entry points at delivery "+
				"%q: %v", id, err)
		case d.EndpointID != string(ep):
			c.problem("deliveries_by_endpoint: entry under endpoint %q "+
				"points at delivery %q of endpoint %q", ep, id,
				d.EndpointID)
		}
	})
}

// attempts checks that every logged attempt (delivery, number) belongs
// to a delivery that exists.
func (c *checker) attempts(ctx context.Context) error {
	return c.each(ctx, bucketAttempts, func(k, _ []byte) {
		c.r.Attempts++
		if len(k) < 10 || k[len(k)-9] != 0 {
			c.problem("attempts: malformed key %q", k)
			return
		}
		id := k[:len(k)-9]
		if !c.has(bucketDeliveries, id) {
			c.problem("attempts: attempt of missing delivery %q", id)
		}
	})
}

// keys checks that every key is found by the hash of its secret.
func (c *checker) keys(ctx context.Context) error {
	return c.each(ctx, bucketKeys, func(k, _ []byte) {
		c.r.Keys++
		key, err := getKey(c.tx, k)
		if err != nil {
			c.problem("keys: %v", err)
			return
		}
		if !bytes.Equal(c.tx.Bucket(bucketKeyHashes).Get(key.Hash), k) {
			c.problem("key_hashes: key %q is not found by its hash", k)
		}
	})
}

// keyHashes checks that every hash entry points at a key with that hash.
func (c *checker) keyHashes(ctx context.Context) error {
	return c.each(ctx, bucketKeyHashes, func(h, id []byte) {
		key, err := getKey(c.tx, id)
		switch {
		case err != nil:
			c.problem("key_hashes: entry points at key %q: %v", id, err)
		case !bytes.Equal(key.Hash, h):
			c.problem("key_hashes: entry points at key %q, which has "+
				"another hash", id)
		}
	})
}

// counters checks that every key of the link counters, points and visit
// logs starts with the key of an existing link's counters (statsKey): a
// deleted link leaves none behind, nor does a code given to a new link.
func (c *checker) counters(ctx context.Context) error {
	links := c.tx.Bucket(bucketLinks)
	for _, name := range [][]byte{bucketLinkStats, bucketVisits} {
		err := c.each(ctx, name, func(k, _ []byte) {
			if len(k) <= 8 {
				c.problem("%s: key %q is too short", name, k)
				return
			}
			code, _, _ := bytes.Cut(k[8:], []byte{0})
			link := links.Get(code)
			switch {
			case link == nil:
				c.problem("%s: key %q is of link %q, which is gone", name,
					k, code)
			case !bytes.HasPrefix(k, statsKey(string(code), link)):
				c.problem("%s: key %q is of an older link %q", name, k, code)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// markers checks that every dedup marker is a time under the key of an
// existing link's counters.
func (c *checker) markers(ctx context.Context) error {
	links := c.tx.Bucket(bucketLinks)
	return c.each(ctx, bucketMarkers, func(k, v []byte) {
		var code, link []byte
		if len(k) > 8 {
			code = k[8:]
			link = links.Get(code)
		}
		switch {
		case link == nil:
			c.problem("%s: key %q is not that of a link", bucketMarkers, k)
		case !bytes.Equal(k, statsKey(string(code), link)):
			c.problem("%s: key %q is of an older link %q", bucketMarkers,
				k, code)
		case len(v) != 8:
			c.problem("%s: marker of link %q is %d bytes, not 8",
				bucketMarkers, code, len(v))
		}
	})
}
