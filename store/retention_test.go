package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// retained is a database for Prune: one kept endpoint with a succeeded,
// a dead, a pending and a recently succeeded delivery; a deleted
// endpoint that had a pending delivery of each of those events; an old
// and a new event nobody wanted; and old and new visits of a link.
type retained struct {
	db               *store.DB
	before           time.Time
	gone, kept       []string  // delivery ids
	goneEvs, keptEvs []string  // event ids
	visitAt          time.Time // the older of the new visits
}

func newRetained(tb testing.TB) *retained {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	r := &retained{db: openDB(tb), before: now.Add(time.Hour)}
	for _, id := range []string{"wh_kept", "wh_deleted"} {
		ep := &emitter.Endpoint{ID: id, URL: "https://hooks.test/" + id,
			Events: emitter.EventTypes, CampaignID: "camp1", CreatedAt: t0}
		if err := r.db.PutEndpoint(ctx, ep); err != nil {
			tb.Fatal(err)
		}
	}
	addEvent := func(at time.Time, campaign string) emitter.Event {
		ev := clickEvent(at, campaign)
		if _, err := r.db.AddEvent(ctx, ev); err != nil {
			tb.Fatal(err)
		}
		return ev
	}
	delivery := func(ev emitter.Event) *emitter.Delivery {
		d, err := r.db.Delivery(ctx, deliveryOf(ev, "wh_kept"))
		if err != nil {
			tb.Fatal(err)
		}
		return d
	}

	// The kept endpoint's deliveries, and the deleted one's.
	var evs []emitter.Event
	for i := range 4 {
		evs = append(evs, addEvent(t0.Add(time.Duration(i)*time.Second),
			"camp1"))
	}
	finish(tb, r.db, delivery(evs[0]), emitter.Succeeded, time.Time{}, t0)
	finish(tb, r.db, delivery(evs[1]), emitter.Dead, time.Time{}, t0)
	finish(tb, r.db, delivery(evs[2]), emitter.Pending, now, t0)
	finish(tb, r.db, delivery(evs[3]), emitter.Succeeded, time.Time{},
		r.before.Add(time.Minute))
	r.gone = []string{deliveryOf(evs[0], "wh_kept"),
		deliveryOf(evs[1], "wh_kept")}
	r.kept = []string{deliveryOf(evs[2], "wh_kept"),
		deliveryOf(evs[3], "wh_kept")}
	for _, ev := range evs {
		r.gone = append(r.gone, deliveryOf(ev, "wh_deleted"))
	}
	if err := r.db.DeleteEndpoint(ctx, "wh_deleted"); err != nil {
		tb.Fatal(err)
	}

	// Events: those of pruned deliveries go, those still delivered stay,
	// unwanted ones go when made before r.before.
	unwantedOld := addEvent(t0, "camp2")
	unwantedNew := addEvent(r.before.Add(time.Minute), "camp2")
	r.goneEvs = []string{evs[0].ID, evs[1].ID, unwantedOld.ID}
	r.keptEvs = []string{evs[2].ID, evs[3].ID, unwantedNew.ID}

	// Visits: three old, two newer than r.before.
	createLinks(tb, r.db, newLink("abc123", "camp1", "+15555550100"))
	r.visitAt = r.before.Add(time.Minute)
	t := &tracker.Tally{CampaignID: "camp1", Phone: "+15555550100",
		BotClicks: 5, Hours: hourly(r.visitAt, 0, 5)}
	for i, at := range []time.Time{t0, t0.Add(time.Second),
		t0.Add(2 * time.Second), r.visitAt, r.visitAt.Add(time.Second)} {
		t.Recent = append(t.Recent, tracker.VisitRecord{At: at,
			Reason: "prefetch", Agent: fmt.Sprint("agent ", i)})
	}
	_, err := r.db.CommitClicks(ctx, &tracker.Batch{
		Tallies: map[string]*tracker.Tally{"abc123": t}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestPrune(t *testing.T) {
	for _, batch := range []int{1, 2, 500} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			ctx := context.Background()
			r := newRetained(t)
			n, err := r.db.Prune(ctx, r.before, batch)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(r.gone) + len(r.goneEvs) + 3; n != want {
				t.Errorf("Prune removed %d records, want %d", n, want)
			}
			r.expectDeliveries(t)
			r.expectVisits(t)
			rep, err := r.db.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || rep.Events != len(r.keptEvs) {
				t.Errorf("Check after Prune: %s %q, want ok with %d events",
					rep, rep.Problems, len(r.keptEvs))
			}
			if n, err := r.db.Prune(ctx, r.before, batch); n != 0 || err != nil {
				t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

// expectDeliveries checks that exactly the kept deliveries are left,
// the pending one still due, and that the gone ones left no attempts.
func (r *retained) expectDeliveries(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	for _, id := range r.gone {
		if _, err := r.db.Delivery(ctx, id); !errors.Is(err,
			emitter.ErrDeliveryNotFound) {
			tb.Errorf("Delivery(%s) after Prune = %v, want %v", id, err,
				emitter.ErrDeliveryNotFound)
		}
		if as, err := r.db.Attempts(ctx, id); err != nil || len(as) != 0 {
			tb.Errorf("Attempts(%s) after Prune = %v, %v", id, as, err)
		}
	}
	var listed []string
	for _, ep := range []string{"wh_kept", "wh_deleted"} {
		ds, _, err := r.db.Deliveries(ctx, ep, "", 100, "")
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range ds {
			listed = append(listed, d.ID)
		}
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(r.kept))
	if diff := cmp.Diff(want, listed); diff != "" {
		tb.Errorf("deliveries left (-want +got):\n%s", diff)
	}
	jobs, _, err := r.db.Due(ctx, "wh_kept", r.before, 10, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Delivery.ID != r.kept[0] {
		tb.Errorf("due after Prune = %+v, want the pending delivery", jobs)
	}
}

// expectVisits checks that only the visits newer than r.before are left.
func (r *retained) expectVisits(tb testing.TB) {
	tb.Helper()
	vs, err := r.db.Visits(context.Background(), "abc123")
	if err != nil {
		tb.Fatal(err)
	}
	var got []time.Time
	for _, v := range vs {
		got = append(got, v.At)
	}
	want := []time.Time{r.visitAt.Add(time.Second), r.visitAt}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("visits left (-want +got):\n%s", diff)
	}
}

func TestPruneStopsWithContext(t *testing.T) {
	r := newRetained(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := r.db.Prune(ctx, r.before, 1)
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Prune with an ended context = %d, %v; want 0, %v", n, err,
			context.Canceled)
	}
}

// TestPruneKeepsAllBeforeTheirTime prunes with a time before everything
// was made: nothing goes.
func TestPruneKeepsAllBeforeTheirTime(t *testing.T) {
	r := newRetained(t)
	n, err := r.db.Prune(context.Background(), t0.Add(-time.Hour), 2)
	if n != 0 || err != nil {
		t.Errorf("Prune before anything = %d, %v; want 0, nil", n, err)
	}
}

// TestVisitLogAfterRetention fills a link's visit log, lets retention
// remove it all, and logs new visits: they are kept, up to the log's
// size, newest first.
func TestVisitLogAfterRetention(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	createLinks(t, db, newLink("visited1", "camp1", "+15555550100"))
	logBots := func(from time.Time, n int) {
		t.Helper()
		tally := &tracker.Tally{CampaignID: "camp1", Phone: "+15555550100"}
		for i := range n {
			at := from.Add(time.Duration(i) * time.Second)
			tally.BotClicks++
			tally.Hours = hourly(at, 0, tally.BotClicks)
			tally.Recent = append(tally.Recent, tracker.VisitRecord{At: at,
				Reason: tracker.ReasonCrawler, Agent: fmt.Sprint(at.Unix())})
		}
		_, err := db.CommitClicks(ctx, &tracker.Batch{
			Tallies: map[string]*tracker.Tally{"visited1": tally}})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	for range 3 {
		logBots(now.Add(-48*time.Hour), 8)
	}
	if _, err := db.Prune(ctx, now.Add(-time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	visits := func() []tracker.VisitRecord {
		t.Helper()
		vs, err := db.Visits(ctx, "visited1")
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	if vs := visits(); len(vs) != 0 {
		t.Fatalf("%d visits left after retention, want 0", len(vs))
	}

	logBots(now, 1)
	if vs := visits(); len(vs) != 1 || !vs[0].At.Equal(now) {
		t.Fatalf("after retention and one visit: %+v, want the one", vs)
	}
	for i := range 3 {
		logBots(now.Add(time.Duration(1+8*i)*time.Second), 8)
	}
	vs := visits()
	newest := now.Add(24 * time.Second)
	if len(vs) != 20 || !vs[0].At.Equal(newest) {
		t.Errorf("after 25 visits: %d, newest %v, want 20, newest %v",
			len(vs), vs[0].At, newest)
	}
}
