package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// TestJournaledDeltasReplay journals two records of counter deltas, folds
// the first without trimming the journal, as a crash between the fold and
// the trim leaves it, and journals a delta of a link whose code a newer
// link has taken since. Each reopen counts every delta once, on its own
// link: counters, hourly points, logged visits and the campaign's.
func TestJournaledDeltasReplay(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := newLink("deltaaa1", "camp1", "+15555550101")
	b := newLink("deltabb1", "camp1", "+15555550102")
	createLinks(t, db, a, b)
	hour2 := t0.Add(time.Hour)
	first := map[string]*tracker.Tally{
		a.Code: {CampaignID: "camp1", Phone: a.Phone, Created: a.CreatedAt,
			Clicks: 2, First: t0, Last: t0.Add(time.Second),
			Hours: hourly(t0, 2, 0)},
		b.Code: {CampaignID: "camp1", Phone: b.Phone, Created: b.CreatedAt,
			BotClicks: 1, Hours: hourly(t0, 0, 1),
			Recent: []tracker.VisitRecord{{At: t0,
				Reason: tracker.ReasonCrawler, Agent: "crawler/1"}}},
	}
	second := map[string]*tracker.Tally{
		a.Code: {CampaignID: "camp1", Phone: a.Phone, Created: a.CreatedAt,
			Clicks: 1, BotClicks: 1, First: hour2, Last: hour2,
			Hours: hourly(hour2, 1, 1)},
		// Of an older link with b's code.
		b.Code: {CampaignID: "camp1", Phone: b.Phone,
			Created: b.CreatedAt.Add(-time.Hour), Clicks: 5,
			Hours: hourly(t0, 5, 0)},
	}
	var seqs []uint64
	for _, ds := range []map[string]*tracker.Tally{first, second} {
		batch := &tracker.Batch{Deltas: ds}
		if _, err := db.CommitClicks(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if batch.DeltaSeq == 0 {
			t.Fatal("no sequence number for the journaled deltas")
		}
		seqs = append(seqs, batch.DeltaSeq)
	}
	folded := *first[a.Code]
	folded.Seq = seqs[0]
	_, err = db.CommitClicks(ctx, &tracker.Batch{
		Tallies: map[string]*tracker.Tally{a.Code: &folded}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		db, err = store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// Journal: each link's record marks the newest delta it applied.
		wantA := store.LinkStats{Clicks: 3, BotClicks: 1, FirstClickAt: t0,
			LastClickAt: hour2, Journal: seqs[1]}
		wantB := store.LinkStats{BotClicks: 1, Logged: 1, Journal: seqs[0]}
		for code, want := range map[string]store.LinkStats{a.Code: wantA,
			b.Code: wantB} {
			got, err := db.LinkStats(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s stats (-want +got):\n%s", code, diff)
			}
		}
		camp, err := db.CampaignStats(ctx, "camp1")
		if err != nil {
			t.Fatal(err)
		}
		wantCamp := store.CampaignStats{Links: 2, Clicks: 3, BotClicks: 2,
			LeadsClicked: 1}
		if diff := cmp.Diff(wantCamp, camp); diff != "" {
			t.Errorf("campaign stats (-want +got):\n%s", diff)
		}
		points, err := db.LinkSeries(ctx, a.Code, t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		wantPoints := []store.Point{{Hour: t0, Clicks: 2},
			{Hour: hour2, Clicks: 1, BotClicks: 1}}
		if diff := cmp.Diff(wantPoints, points); diff != "" {
			t.Errorf("%s points (-want +got):\n%s", a.Code, diff)
		}
		visits, err := db.Visits(ctx, b.Code)
		if err != nil {
			t.Fatal(err)
		}
		if len(visits) != 1 || visits[0].Agent != "crawler/1" {
			t.Errorf("%s visits = %+v, want the crawler's", b.Code, visits)
		}
		report, err := db.Check(ctx)
		if err != nil || !report.OK() {
			t.Errorf("check: %v, %v", report, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
