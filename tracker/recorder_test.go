package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

const testBaseURL = "https://s.test"

// The User-Agents of a bot and of a lead's phone.
const (
	curlAgent    = "curl/8.5.0"
	browserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) " +
		"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 " +
		"Safari/604.1"
)

var discard = slog.New(slog.DiscardHandler)

// openDB opens a fresh database in a temporary folder.
func openDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "linkd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// createLinks stores n links of campaign, each for its own lead.
func createLinks(tb testing.TB, db *store.DB, campaign string,
	n int) []*shortener.Link {
	tb.Helper()
	links := make([]*shortener.Link, n)
	for i := range links {
		links[i] = &shortener.Link{
			Code:       fmt.Sprintf("code%04d", i),
			URL:        fmt.Sprintf("https://example.com/offer/%d", i),
			CampaignID: campaign,
			Phone:      fmt.Sprintf("+1555555%04d", i),
			CreatedAt:  t0,
		}
	}
	if err := db.CreateLinks(context.Background(), links, nil); err != nil {
		tb.Fatal(err)
	}
	return links
}

// putEndpoint registers an endpoint that wants every click event.
func putEndpoint(tb testing.TB, db *store.DB, id string) {
	tb.Helper()
	ep := &emitter.Endpoint{ID: id, URL: "http://127.0.0.1:1/hook",
		Events: []string{emitter.LinkClicked}, CreatedAt: t0}
	if err := db.PutEndpoint(context.Background(), ep); err != nil {
		tb.Fatal(err)
	}
}

// emittedClick returns the emitted click on l at at.
func emittedClick(ids *emitter.IDs, l *shortener.Link,
	at time.Time) tracker.Emitted {
	ev := emitter.ClickEvent(ids.New("evt_", at), l.CampaignID,
		emitter.Lead{Phone: l.Phone}, l.URL, l.ShortURL(testBaseURL), at)
	return tracker.Emitted{Code: l.Code, CampaignID: l.CampaignID,
		Phone: l.Phone, Created: l.CreatedAt, At: ev.Time, Event: ev}
}

// reopen closes db, as a stop would, and opens its file at path again.
func reopen(tb testing.TB, db *store.DB, path string) *store.DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	db, err := store.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// emittedClicks returns n emitted clicks a millisecond apart, on links in
// turn.
func emittedClicks(ids *emitter.IDs, links []*shortener.Link,
	n int) []tracker.Emitted {
	es := make([]tracker.Emitted, n)
	for i := range es {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		es[i] = emittedClick(ids, links[i%len(links)], at)
	}
	return es
}

func linkStats(tb testing.TB, db *store.DB, code string) store.LinkStats {
	tb.Helper()
	s, err := db.LinkStats(context.Background(), code)
	if err != nil {
		tb.Fatal(err)
	}
	// Which journal record the counters applied last is the store's
	// business; the tests here compare the counters.
	s.Journal = 0
	return s
}

func campaignStats(tb testing.TB, db *store.DB,
	campaign string) store.CampaignStats {
	tb.Helper()
	s, err := db.CampaignStats(context.Background(), campaign)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// countingCommitter passes batches to the real store, counting calls, and
// fails the first failFirst of them without storing anything.
type countingCommitter struct {
	db        *store.DB
	failFirst int64
	calls     atomic.Int64
}

var errInjected = errors.New("injected commit failure")

func (c *countingCommitter) LastEvent(ctx context.Context,
	l *shortener.Link) (time.Time, error) {
	return c.db.LastEvent(ctx, l)
}

func (c *countingCommitter) CommitClicks(ctx context.Context,
	b *tracker.Batch) ([]string, error) {
	if c.calls.Add(1) <= c.failFirst {
		return nil, errInjected
	}
	return c.db.CommitClicks(ctx, b)
}

// unfoldingCommitter passes batches to the real store without their
// folds, as a crash just before each fold's commit would leave the
// store: only the journal holds the counter deltas.
type unfoldingCommitter struct{ db *store.DB }

func (c unfoldingCommitter) LastEvent(ctx context.Context,
	l *shortener.Link) (time.Time, error) {
	return c.db.LastEvent(ctx, l)
}

func (c unfoldingCommitter) CommitClicks(ctx context.Context,
	b *tracker.Batch) ([]string, error) {
	b.Tallies, b.JournalThrough = nil, 0
	return c.db.CommitClicks(ctx, b)
}

// recordAll records es concurrently, one goroutine each, and returns the
// errors in the order of es.
func recordAll(r *tracker.Recorder, es []tracker.Emitted) []error {
	errs := make([]error, len(es))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = r.Record(context.Background(), e)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func TestRecorderConcurrentRecords(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	links := createLinks(t, db, "camp1", 20)
	putEndpoint(t, db, "wh_test1")

	var mu sync.Mutex
	woken := map[string]bool{}
	r := tracker.NewRecorder(db, discard, tracker.RecorderOptions{
		OnCommit: func(ids []string) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				woken[id] = true
			}
		},
	})

	const n = 200
	es := emittedClicks(emitter.NewIDs(), links, n)
	for i, err := range recordAll(r, es) {
		if err != nil {
			t.Errorf("Record %d: %v", i, err)
		}
	}
	r.Stop()

	var events int64
	for _, l := range links {
		events += linkStats(t, db, l.Code).Events
	}
	if events != n {
		t.Errorf("link events sum to %d, want %d", events, n)
	}
	want := store.CampaignStats{Links: 20, Clicks: n, Events: n,
		LeadsClicked: 20}
	if diff := cmp.Diff(want, campaignStats(t, db, "camp1")); diff != "" {
		t.Errorf("campaign stats (-want +got):\n%s", diff)
	}
	ds, _, err := db.Deliveries(ctx, "wh_test1", "", 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Errorf("endpoint has %d deliveries, want %d", len(ds), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string]bool{"wh_test1": true}, woken); diff != "" {
		t.Errorf("woken endpoints (-want +got):\n%s", diff)
	}
}

func TestRecorderEmittedClickStats(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	r := tracker.NewRecorder(db, discard, tracker.RecorderOptions{})
	t.Cleanup(r.Stop)

	e := emittedClick(emitter.NewIDs(), l, t0)
	if err := r.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	// Until the flush, the marker is the Recorder's.
	if got, err := r.LastEvent(context.Background(), l); err != nil ||
		!got.Equal(t0) {
		t.Errorf("LastEvent before the flush = %v, %v; want %v", got, err, t0)
	}
	r.Stop()
	want := store.LinkStats{Clicks: 1, Events: 1, FirstClickAt: t0,
		LastClickAt: t0, LastEventAt: t0}
	if diff := cmp.Diff(want, linkStats(t, db, l.Code)); diff != "" {
		t.Errorf("link stats (-want +got):\n%s", diff)
	}
	if got, err := r.LastEvent(context.Background(), l); err != nil ||
		!got.Equal(t0) {
		t.Errorf("LastEvent after the flush = %v, %v; want %v", got, err, t0)
	}
}

// TestRecordedClickSurvivesCrash records clicks, then closes the database
// under the Recorder, as a crash would, before any flush: the reopened
// database has their counters and markers from the journal, and a second
// reopening counts them once.
func TestRecordedClickSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	links := createLinks(t, db, "camp1", 2)
	r := tracker.NewRecorder(db, discard,
		tracker.RecorderOptions{LogEvery: time.Hour})
	ids := emitter.NewIDs()
	ctx := context.Background()
	for i, at := range []time.Time{t0, t0.Add(time.Minute)} {
		for _, l := range links[:i+1] {
			if err := r.Record(ctx, emittedClick(ids, l, at)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r.Stop() // its flush fails on the closed database

	for range 2 {
		db, err = store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.LinkStats{
			{Clicks: 2, Events: 2, FirstClickAt: t0,
				LastClickAt: t0.Add(time.Minute), LastEventAt: t0.Add(time.Minute)},
			{Clicks: 1, Events: 1, FirstClickAt: t0.Add(time.Minute),
				LastClickAt: t0.Add(time.Minute), LastEventAt: t0.Add(time.Minute)},
		}
		for i, l := range links {
			if diff := cmp.Diff(want[i], linkStats(t, db, l.Code)); diff != "" {
				t.Errorf("link %d stats (-want +got):\n%s", i, diff)
			}
		}
		wantCamp := store.CampaignStats{Links: 2, Clicks: 3, Events: 3,
			LeadsClicked: 2}
		if diff := cmp.Diff(wantCamp, campaignStats(t, db, "camp1")); diff != "" {
			t.Errorf("campaign stats (-want +got):\n%s", diff)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJournalReplaySkipsFlushed flushes part of the journal's clicks
// without trimming it, as a crash between a flush and the journal's trim
// would leave it: the reopened database counts each click once.
func TestJournalReplaySkipsFlushed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := createLinks(t, db, "camp1", 1)[0]
	ids := emitter.NewIDs()
	ctx := context.Background()
	var es []tracker.Emitted
	for i := range 3 {
		es = append(es, emittedClick(ids, l, t0.Add(time.Duration(i)*time.Minute)))
	}
	if _, err := db.CommitClicks(ctx, &tracker.Batch{Emitted: es}); err != nil {
		t.Fatal(err)
	}
	// The first two clicks flushed, the journal left whole.
	flushed := &tracker.Tally{CampaignID: "camp1", Phone: l.Phone, Clicks: 2,
		Events: 2, First: t0, Last: t0.Add(time.Minute),
		Hours: []tracker.Hourly{{Hour: t0.Truncate(time.Hour).Unix(),
			Clicks: 2}}, LastEvent: t0.Add(time.Minute), Seq: es[1].Seq}
	_, err = db.CommitClicks(ctx, &tracker.Batch{
		Tallies: map[string]*tracker.Tally{l.Code: flushed}})
	if err != nil {
		t.Fatal(err)
	}

	db = reopen(t, db, path)
	want := store.LinkStats{Clicks: 3, Events: 3, FirstClickAt: t0,
		LastClickAt: t0.Add(2 * time.Minute),
		LastEventAt: t0.Add(2 * time.Minute)}
	if diff := cmp.Diff(want, linkStats(t, db, l.Code)); diff != "" {
		t.Errorf("link stats (-want +got):\n%s", diff)
	}
	if got := campaignStats(t, db, "camp1").Events; got != 3 {
		t.Errorf("campaign events = %d, want 3", got)
	}
}

func TestRecorderStopFlushesTallies(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	r := tracker.NewRecorder(db, discard,
		tracker.RecorderOptions{LogEvery: time.Hour})

	r.Count(l, tracker.Human, browserAgent,
		t0.Add(2*time.Second))
	r.Count(l, tracker.Human, browserAgent,
		t0)
	r.Count(l, tracker.Human, browserAgent,
		t0.Add(time.Second))
	r.Count(l, tracker.ReasonHead, curlAgent,
		t0)
	r.Count(l, tracker.ReasonHead, curlAgent,
		t0)
	r.Stop()

	// Each bot visit is logged too.
	want := store.LinkStats{Clicks: 3, BotClicks: 2, FirstClickAt: t0,
		LastClickAt: t0.Add(2 * time.Second), Logged: 2}
	if diff := cmp.Diff(want, linkStats(t, db, l.Code)); diff != "" {
		t.Errorf("link stats (-want +got):\n%s", diff)
	}
	wantCamp := store.CampaignStats{Links: 1, Clicks: 3, BotClicks: 2,
		LeadsClicked: 1}
	if diff := cmp.Diff(wantCamp, campaignStats(t, db, "camp1")); diff != "" {
		t.Errorf("campaign stats (-want +got):\n%s", diff)
	}
}

func TestRecorderFailedCommitKeepsTallies(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	c := &countingCommitter{db: db, failFirst: 1}
	// No flush tick during the test: the first commit is the Record's.
	r := tracker.NewRecorder(c, discard,
		tracker.RecorderOptions{LogEvery: time.Hour})
	ctx := context.Background()
	ids := emitter.NewIDs()

	r.Count(l, tracker.Human, browserAgent,
		t0)
	r.Count(l, tracker.Human, browserAgent,
		t0.Add(time.Second))
	r.Count(l, tracker.ReasonHead, curlAgent,
		t0)
	err := r.Record(ctx, emittedClick(ids, l, t0.Add(2*time.Second)))
	if !errors.Is(err, errInjected) {
		t.Fatalf("Record with a failing commit = %v, want %v", err,
			errInjected)
	}
	if got := linkStats(t, db, l.Code); got != (store.LinkStats{}) {
		t.Fatalf("failed commit stored %+v", got)
	}

	err = r.Record(ctx, emittedClick(ids, l, t0.Add(40*time.Second)))
	if err != nil {
		t.Fatalf("Record after the failure: %v", err)
	}
	r.Stop()

	// The tallies of the failed commit came with the next one; the
	// failed click's event did not.
	want := store.LinkStats{Clicks: 3, BotClicks: 1, Events: 1,
		FirstClickAt: t0, LastClickAt: t0.Add(40 * time.Second),
		LastEventAt: t0.Add(40 * time.Second), Logged: 1}
	if diff := cmp.Diff(want, linkStats(t, db, l.Code)); diff != "" {
		t.Errorf("link stats (-want +got):\n%s", diff)
	}
}

func TestRecorderGroupCommit(t *testing.T) {
	db := openDB(t)
	links := createLinks(t, db, "camp1", 50)
	c := &countingCommitter{db: db}
	r := tracker.NewRecorder(c, discard,
		tracker.RecorderOptions{LogEvery: time.Hour})

	const n = 1000
	es := emittedClicks(emitter.NewIDs(), links, n)
	for i, err := range recordAll(r, es) {
		if err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	r.Stop()

	if got := c.calls.Load(); got >= n/2 {
		t.Errorf("%d records took %d commits, want fewer than %d", n, got,
			n/2)
	}
	if got := campaignStats(t, db, "camp1").Events; got != n {
		t.Errorf("campaign events = %d, want %d", got, n)
	}
}

func TestRecorderRecordAfterStop(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	r := tracker.NewRecorder(db, discard, tracker.RecorderOptions{})
	r.Stop()

	ids := emitter.NewIDs()
	for i := range 20 {
		// The deadline only bounds a hang; ErrStopped comes at once.
		ctx, cancel := context.WithTimeout(context.Background(),
			100*time.Millisecond)
		err := r.Record(ctx, emittedClick(ids, l, t0))
		cancel()
		if !errors.Is(err, tracker.ErrStopped) {
			t.Fatalf("Record %d after Stop = %v, want %v", i, err,
				tracker.ErrStopped)
		}
	}
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestTrackerVisitFailedCommitKeepsWindowOpen(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	c := &countingCommitter{db: db, failFirst: 1}
	r := tracker.NewRecorder(c, discard,
		tracker.RecorderOptions{LogEvery: time.Hour})
	t.Cleanup(r.Stop)
	w := newWindow(t, 30*time.Second, 16, db)
	clock := &fakeClock{now: t0}
	tr := tracker.NewTracker(w, r, testBaseURL, clock.Now)
	ctx := context.Background()

	emitted, err := tr.Visit(ctx, l, tracker.Human, browserAgent)
	if !errors.Is(err, errInjected) || emitted {
		t.Fatalf("Visit with a failing commit = %v, %v; want false, %v",
			emitted, err, errInjected)
	}

	clock.Set(t0.Add(time.Second))
	emitted, err = tr.Visit(ctx, l, tracker.Human, browserAgent)
	if err != nil || !emitted {
		t.Fatalf("Visit after the failure = %v, %v; want true, nil",
			emitted, err)
	}

	clock.Set(t0.Add(2 * time.Second))
	emitted, err = tr.Visit(ctx, l, tracker.Human, browserAgent)
	if err != nil || emitted {
		t.Errorf("Visit inside the new window = %v, %v; want false, nil",
			emitted, err)
	}
	r.Stop()
	if got := linkStats(t, db, l.Code); got.Events != 1 ||
		!got.LastEventAt.Equal(t0.Add(time.Second)) {
		t.Errorf("link stats = %+v, want 1 event at %v", got,
			t0.Add(time.Second))
	}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRecorderJournalsVisitsBeforeTheFold counts visits that emit nothing
// on more links than a fold takes at once, and a click that emits, into a
// store that never sees a fold, then reopens it: every visit counts once,
// from the journal, with its hour and its log.
func TestRecorderJournalsVisitsBeforeTheFold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	links := createLinks(t, db, "camp1", 3)
	r := tracker.NewRecorder(unfoldingCommitter{db}, discard,
		tracker.RecorderOptions{LogEvery: 5 * time.Millisecond,
			FoldEvery: time.Hour, FoldChunk: 1, LogChunk: 2})
	err = r.Record(context.Background(),
		emittedClick(emitter.NewIDs(), links[0], t0))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range links {
		for range i + 1 {
			r.Count(l, tracker.Human, browserAgent, t0)
		}
		r.Count(l, tracker.ReasonHead, curlAgent, t0.Add(time.Hour))
	}
	waitFor(t, "the visits journaled", func() bool {
		fresh, _ := r.Unfolded()
		return fresh == 0
	})
	r.Stop()
	if got := linkStats(t, db, links[2].Code).Clicks; got != 0 {
		t.Fatalf("a fold reached the store: %d clicks", got)
	}

	for range 2 {
		db = reopen(t, db, path)
		for i, l := range links {
			want := store.LinkStats{Clicks: int64(i + 1), BotClicks: 1,
				FirstClickAt: t0, LastClickAt: t0, Logged: 1}
			wantPoints := []store.Point{{Hour: t0, Clicks: int64(i + 1)},
				{Hour: t0.Add(time.Hour), BotClicks: 1}}
			if i == 0 {
				want.Clicks, want.Events, want.LastEventAt = 2, 1, t0
				wantPoints[0].Clicks = 2
			}
			got := linkStats(t, db, l.Code)
			got.Journal = 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("link %d stats (-want +got):\n%s", i, diff)
			}
			points, err := db.LinkSeries(context.Background(), l.Code, t0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantPoints, points); diff != "" {
				t.Errorf("link %d points (-want +got):\n%s", i, diff)
			}
		}
		wantCamp := store.CampaignStats{Links: 3, Clicks: 7, BotClicks: 3,
			Events: 1, LeadsClicked: 3}
		if diff := cmp.Diff(wantCamp, campaignStats(t, db, "camp1")); diff != "" {
			t.Errorf("campaign stats (-want +got):\n%s", diff)
		}
	}
}

// TestRecorderFoldsFewLinksAtOnce counts a visit while nothing else
// waits: its counters reach storage at the next tick, without waiting for
// FoldEvery or a stop.
func TestRecorderFoldsFewLinksAtOnce(t *testing.T) {
	db := openDB(t)
	l := createLinks(t, db, "camp1", 1)[0]
	r := tracker.NewRecorder(db, discard, tracker.RecorderOptions{
		LogEvery: 5 * time.Millisecond, FoldEvery: time.Hour})
	defer r.Stop()
	r.Count(l, tracker.Human, browserAgent, t0)
	waitFor(t, "the click folded", func() bool {
		fresh, journaled := r.Unfolded()
		return linkStats(t, db, l.Code).Clicks == 1 && fresh+journaled == 0
	})
}
