package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

var t0 = time.Date(2024, 1, 28, 12, 0, 0, 0, time.UTC)

func openDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "linkd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newLink(code, campaign, phone string) *shortener.Link {
	return &shortener.Link{Code: code, CampaignID: campaign, Phone: phone,
		URL: "https://example.com/" + code, CreatedAt: t0}
}

// codes returns a newCode that hands out cs in turn and counts its calls.
func codes(calls *int, cs ...string) func() (string, error) {
	return func() (string, error) {
		*calls++
		if len(cs) == 0 {
			return "", errors.New("out of codes")
		}
		c := cs[0]
		cs = cs[1:]
		return c, nil
	}
}

func createLinks(tb testing.TB, db *store.DB, links ...*shortener.Link) {
	tb.Helper()
	n := 0
	gen := func() (string, error) {
		n++
		return fmt.Sprintf("gen%05d", n), nil
	}
	if err := db.CreateLinks(context.Background(), links, gen); err != nil {
		tb.Fatal(err)
	}
}

func getLink(tb testing.TB, db *store.DB, code string) *shortener.Link {
	tb.Helper()
	l, err := db.Link(context.Background(), code)
	if err != nil {
		tb.Fatalf("Link(%q): %v", code, err)
	}
	return l
}

func campaignLinks(tb testing.TB, db *store.DB, campaign string) int64 {
	tb.Helper()
	s, err := db.CampaignStats(context.Background(), campaign)
	if err != nil {
		tb.Fatal(err)
	}
	return s.Links
}

func TestCreateLinksSkipsTakenGeneratedCode(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	old := newLink("taken01", "camp1", "+15555550100")
	createLinks(t, db, old)

	l := newLink("", "camp1", "+15555550101")
	calls := 0
	err := db.CreateLinks(ctx, []*shortener.Link{l},
		codes(&calls, "taken01", "fresh01"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Code != "fresh01" || calls != 2 {
		t.Errorf("new link got code %q after %d draws, want fresh01 after 2",
			l.Code, calls)
	}
	if diff := cmp.Diff(old, getLink(t, db, "taken01")); diff != "" {
		t.Errorf("existing link (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(l, getLink(t, db, "fresh01")); diff != "" {
		t.Errorf("new link (-want +got):\n%s", diff)
	}
}

func TestCreateLinksGeneratedCodeVsCustomInBatch(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	gen := newLink("", "camp1", "+15555550100")
	custom := newLink("Custom01", "camp1", "+15555550101")
	calls := 0
	err := db.CreateLinks(ctx, []*shortener.Link{gen, custom},
		codes(&calls, "Custom01", "fresh01"))
	if err != nil {
		t.Fatal(err)
	}
	if gen.Code != "fresh01" {
		t.Errorf("generated link got code %q, want fresh01", gen.Code)
	}
	if got := getLink(t, db, "Custom01"); got.Phone != custom.Phone {
		t.Errorf("Custom01 holds the link of %s, want %s", got.Phone,
			custom.Phone)
	}
	for _, q := range []shortener.Query{{}, {CampaignID: "camp1"}} {
		_, got := listAll(t, db, q)
		sort.Strings(got)
		if diff := cmp.Diff([]string{"Custom01", "fresh01"}, got); diff != "" {
			t.Errorf("Links(%+v) (-want +got):\n%s", q, diff)
		}
	}
}

func TestCreateLinksCustomCodeTaken(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	createLinks(t, db, newLink("taken01", "camp1", "+15555550100"))

	batch := []*shortener.Link{
		newLink("newcode0", "camp1", "+15555550101"),
		newLink("taken01", "camp1", "+15555550102"),
		newLink("", "camp1", "+15555550103"),
	}
	calls := 0
	err := db.CreateLinks(ctx, batch, codes(&calls, "fresh01"))
	var be *shortener.BatchError
	if !errors.As(err, &be) || be.Index != 1 ||
		!errors.Is(err, shortener.ErrCodeTaken) {
		t.Fatalf("CreateLinks = %v, want *BatchError at 1 wrapping %v", err,
			shortener.ErrCodeTaken)
	}

	if _, err := db.Link(ctx, "newcode0"); !errors.Is(err,
		shortener.ErrNotFound) {
		t.Errorf("Link(newcode0) = %v, want %v", err, shortener.ErrNotFound)
	}
	if _, err := db.Link(ctx, "fresh01"); !errors.Is(err,
		shortener.ErrNotFound) {
		t.Errorf("Link(fresh01) = %v, want %v", err, shortener.ErrNotFound)
	}
	if n := campaignLinks(t, db, "camp1"); n != 1 {
		t.Errorf("campaign counts %d links, want 1", n)
	}
	if got := getLink(t, db, "taken01").Phone; got != "+15555550100" {
		t.Errorf("taken01 now belongs to %s", got)
	}
}

// listAll pages through q and returns the page sizes and the codes.
func listAll(tb testing.TB, db *store.DB, q shortener.Query) ([]int,
	[]string) {
	tb.Helper()
	var sizes []int
	var got []string
	for range 100 {
		page, next, err := db.Links(context.Background(), q)
		if err != nil {
			tb.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, l := range page {
			got = append(got, l.Code)
		}
		if next == "" {
			return sizes, got
		}
		q.Cursor = next
	}
	tb.Fatal("more than 100 pages")
	return nil, nil
}

func TestLinksPaging(t *testing.T) {
	const p1, p2 = "+15555550001", "+15555550002"
	// many returns n links of campaign and phone, with codes prefixed.
	many := func(prefix, campaign, phone string, n int) []*shortener.Link {
		ls := make([]*shortener.Link, n)
		for i := range ls {
			ls[i] = newLink(fmt.Sprintf("%s%04d", prefix, i), campaign, phone)
		}
		return ls
	}
	tests := []struct {
		name  string
		match []*shortener.Link // 250 links the query selects
		other []*shortener.Link // links it must skip
		q     shortener.Query
	}{
		{
			name: "by campaign",
			match: append(many("a", "campA", p1, 125),
				many("b", "campA", p2, 125)...),
			other: many("c", "campB", p1, 40),
			q:     shortener.Query{CampaignID: "campA"},
		},
		{
			name:  "by campaign and phone",
			match: many("a", "campA", p1, 250),
			other: append(many("b", "campA", p2, 40),
				many("c", "campB", p1, 40)...),
			q: shortener.Query{CampaignID: "campA", Phone: p1},
		},
		{
			name: "by phone",
			match: append(many("a", "campA", p1, 125),
				many("b", "campB", p1, 125)...),
			other: many("c", "campA", p2, 40),
			q:     shortener.Query{Phone: p1},
		},
		{
			name: "all",
			match: append(many("a", "campA", p1, 125),
				many("b", "campB", p2, 125)...),
			q: shortener.Query{},
		},
		{
			name: "all in allowed campaigns",
			match: append(many("b", "campA", p1, 125),
				many("d", "campC", p2, 125)...),
			other: append(many("a", "campB", p1, 40),
				many("c", "campB", p2, 40)...),
			q: shortener.Query{Campaigns: []string{"campA", "campC"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			createLinks(t, db, append(tt.match, tt.other...)...)
			q := tt.q
			q.Limit = 100
			sizes, got := listAll(t, db, q)

			if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
			var want []string
			for _, l := range tt.match {
				want = append(want, l.Code)
			}
			sort.Strings(want)
			sort.Strings(got)
			// A duplicate or a stray link shows in the diff.
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLinksBadCursor(t *testing.T) {
	db := openDB(t)
	createLinks(t, db, newLink("abc", "camp1", "+15555550100"))
	for _, cursor := range []string{"!!!", "a b", "=="} {
		t.Run(cursor, func(t *testing.T) {
			_, _, err := db.Links(context.Background(),
				shortener.Query{Cursor: cursor})
			var ie *shortener.InvalidError
			if !errors.As(err, &ie) || ie.Code != "invalid_cursor" {
				t.Errorf("Links(cursor %q) = %v, want invalid_cursor", cursor,
					err)
			}
		})
	}
}

func TestDeleteLink(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	gone := newLink("gone01", "camp1", "+15555550100")
	kept := newLink("kept01", "camp1", "+15555550100")
	createLinks(t, db, gone, kept)

	if err := db.DeleteLink(ctx, "gone01"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []shortener.Query{
		{},
		{CampaignID: "camp1"},
		{Phone: "+15555550100"},
		{CampaignID: "camp1", Phone: "+15555550100"},
	} {
		_, got := listAll(t, db, q)
		if diff := cmp.Diff([]string{"kept01"}, got); diff != "" {
			t.Errorf("Links(%+v) after delete (-want +got):\n%s", q, diff)
		}
	}
	if _, err := db.Link(ctx, "gone01"); !errors.Is(err,
		shortener.ErrNotFound) {
		t.Errorf("Link after delete = %v, want %v", err, shortener.ErrNotFound)
	}
	if n := campaignLinks(t, db, "camp1"); n != 1 {
		t.Errorf("campaign counts %d links, want 1", n)
	}
	if err := db.DeleteLink(ctx, "gone01"); !errors.Is(err,
		shortener.ErrNotFound) {
		t.Errorf("second delete = %v, want %v", err, shortener.ErrNotFound)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	start := time.Now()
	second, err := store.Open(path)
	took := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a held file succeeded")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second Open = %v, want %v", err, store.ErrLocked)
	}
	if took < 500*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("second Open gave up after %v, want about 1s", took)
	}
}

// outbox is a database with one endpoint and events with deliveries.
type outbox struct {
	db     *store.DB
	ep     *emitter.Endpoint
	events []emitter.Event
}

var ids = emitter.NewIDs()

// newOutbox stores two endpoints and n click events, one second apart,
// each delivered to both; ep is the first endpoint.
func newOutbox(tb testing.TB, n int) *outbox {
	tb.Helper()
	ctx := context.Background()
	o := &outbox{db: openDB(tb)}
	for _, id := range []string{"wh_a", "wh_ab"} {
		ep := &emitter.Endpoint{ID: id, URL: "https://hooks.test/" + id,
			Events: emitter.EventTypes, CreatedAt: t0}
		if err := o.db.PutEndpoint(ctx, ep); err != nil {
			tb.Fatal(err)
		}
		if o.ep == nil {
			o.ep = ep
		}
	}
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		ev := emitter.ClickEvent(ids.New("evt_", at), "camp1",
			emitter.Lead{Phone: "+15555550100"}, "https://example.com/",
			"https://s.test/abc", at)
		got, err := o.db.AddEvent(ctx, ev)
		if err != nil {
			tb.Fatal(err)
		}
		if diff := cmp.Diff([]string{"wh_a", "wh_ab"}, got); diff != "" {
			tb.Fatalf("AddEvent endpoints (-want +got):\n%s", diff)
		}
		o.events = append(o.events, ev)
	}
	return o
}

// due returns the event ids of the endpoint's jobs due at now, and next.
func (o *outbox) due(tb testing.TB, now time.Time, limit int,
	skip func(string) bool) ([]string, time.Time) {
	tb.Helper()
	jobs, next, err := o.db.Due(context.Background(), o.ep.ID, now, limit,
		skip)
	if err != nil {
		tb.Fatal(err)
	}
	var got []string
	for _, j := range jobs {
		if j.Delivery.EventID != j.Event.ID {
			tb.Errorf("job of delivery %s carries event %s", j.Delivery.ID,
				j.Event.ID)
		}
		got = append(got, j.Event.ID)
	}
	return got, next
}

// delivery returns the endpoint's delivery of event i.
func (o *outbox) delivery(tb testing.TB, i int) *emitter.Delivery {
	tb.Helper()
	for _, d := range deliveryPages(tb, o.db, o.ep.ID, "", 1000) {
		if d.EventID == o.events[i].ID {
			return d
		}
	}
	tb.Fatalf("no delivery of event %d", i)
	return nil
}

// finish stores a finished attempt of the delivery of event i.
func (o *outbox) finish(tb testing.TB, i int, status string,
	next time.Time, epChange func(*emitter.Endpoint) bool) bool {
	tb.Helper()
	d := o.delivery(tb, i)
	was := d.NextAttemptAt
	d.Attempts++
	d.Status, d.NextAttemptAt = status, next
	a := emitter.Attempt{DeliveryID: d.ID, N: d.Attempts, At: t0,
		StatusCode: 500, Error: "status 500"}
	if status == emitter.Succeeded {
		a.StatusCode, a.Error = 204, ""
	}
	changed, err := o.db.FinishAttempt(context.Background(), d, was, a,
		epChange)
	if err != nil {
		tb.Fatal(err)
	}
	return changed
}

func (o *outbox) eventIDs(is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, o.events[i].ID)
	}
	return out
}

func TestDue(t *testing.T) {
	o := newOutbox(t, 3)
	now := time.Now()

	got, next := o.due(t, now, 10, nil)
	if diff := cmp.Diff(o.eventIDs(0, 1, 2), got); diff != "" {
		t.Errorf("due (-want +got):\n%s", diff)
	}
	if !next.IsZero() {
		t.Errorf("next = %v, want zero", next)
	}

	got, next = o.due(t, now, 2, nil)
	if diff := cmp.Diff(o.eventIDs(0, 1), got); diff != "" {
		t.Errorf("due with limit 2 (-want +got):\n%s", diff)
	}
	if want := o.delivery(t, 2).NextAttemptAt; !next.Equal(want) {
		t.Errorf("next with limit 2 = %v, want %v", next, want)
	}

	first := o.delivery(t, 0).ID
	got, _ = o.due(t, now, 10, func(id string) bool { return id == first })
	if diff := cmp.Diff(o.eventIDs(1, 2), got); diff != "" {
		t.Errorf("due skipping the first (-want +got):\n%s", diff)
	}

	past := o.delivery(t, 0).NextAttemptAt.Add(-time.Nanosecond)
	got, next = o.due(t, past, 10, nil)
	if len(got) != 0 || !next.Equal(o.delivery(t, 0).NextAttemptAt) {
		t.Errorf("due before the first = %v, next %v; want none, next "+
			"the first", got, next)
	}
}

func TestFinishAttempt(t *testing.T) {
	ctx := context.Background()
	o := newOutbox(t, 3)
	now := time.Now()
	later := now.Add(time.Hour)

	// A failure reschedules the delivery and marks the endpoint.
	changed := o.finish(t, 0, emitter.Pending, later,
		func(e *emitter.Endpoint) bool { e.FailingSince = t0; return true })
	if !changed {
		t.Error("FinishAttempt did not report the endpoint change")
	}
	ep, err := o.db.Endpoint(ctx, o.ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ep.FailingSince.Equal(t0) {
		t.Errorf("endpoint FailingSince = %v, want %v", ep.FailingSince, t0)
	}
	got, next := o.due(t, now, 10, nil)
	if diff := cmp.Diff(o.eventIDs(1, 2), got); diff != "" {
		t.Errorf("due after a failure (-want +got):\n%s", diff)
	}
	if !next.Equal(later) {
		t.Errorf("next = %v, want %v", next, later)
	}
	got, _ = o.due(t, later, 10, nil)
	if diff := cmp.Diff(o.eventIDs(1, 2, 0), got); diff != "" {
		t.Errorf("due at the retry (-want +got):\n%s", diff)
	}

	// A success leaves the schedule.
	if o.finish(t, 1, emitter.Succeeded, time.Time{}, nil) {
		t.Error("FinishAttempt without a change reported one")
	}
	got, _ = o.due(t, later, 10, nil)
	if diff := cmp.Diff(o.eventIDs(2, 0), got); diff != "" {
		t.Errorf("due after a success (-want +got):\n%s", diff)
	}

	d := o.delivery(t, 0)
	attempts, err := o.db.Attempts(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []emitter.Attempt{{DeliveryID: d.ID, N: 1, At: t0,
		StatusCode: 500, Error: "status 500"}}
	if diff := cmp.Diff(want, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if d.Attempts != 1 || !d.NextAttemptAt.Equal(later) {
		t.Errorf("stored delivery = %+v", d)
	}
}

func TestRetryDelivery(t *testing.T) {
	ctx := context.Background()
	o := newOutbox(t, 3)
	now := time.Now()
	o.finish(t, 0, emitter.Pending, now.Add(time.Hour), nil)
	o.finish(t, 1, emitter.Dead, time.Time{}, nil)
	o.finish(t, 2, emitter.Succeeded, time.Time{}, nil)

	retryAt := now.Add(time.Minute)
	for _, i := range []int{0, 1, 2} {
		d, err := o.db.RetryDelivery(ctx, o.ep.ID, o.delivery(t, i).ID,
			retryAt)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != emitter.Pending || !d.NextAttemptAt.Equal(retryAt) {
			t.Errorf("retried delivery %d = %+v, want pending at %v", i, d,
				retryAt)
		}
	}
	// Each is due once, the pending one's old entry gone.
	got, next := o.due(t, now.Add(2*time.Hour), 10, nil)
	if len(got) != 3 || !next.IsZero() {
		t.Errorf("due after retries = %v, next %v; want 3 once each", got,
			next)
	}
	got, _ = o.due(t, now, 10, nil)
	if len(got) != 0 {
		t.Errorf("due before the retry time = %v, want none", got)
	}

	for _, tt := range []struct{ name, ep, id string }{
		{"other endpoint", "wh_ab", o.delivery(t, 0).ID},
		{"unknown id", o.ep.ID, "dlv_nope"},
	} {
		_, err := o.db.RetryDelivery(ctx, tt.ep, tt.id, retryAt)
		if !errors.Is(err, emitter.ErrDeliveryNotFound) {
			t.Errorf("%s: RetryDelivery = %v, want %v", tt.name, err,
				emitter.ErrDeliveryNotFound)
		}
	}
}

// deliveryPages pages through an endpoint's deliveries with limit.
func deliveryPages(tb testing.TB, db *store.DB, endpointID, status string,
	limit int) []*emitter.Delivery {
	tb.Helper()
	var out []*emitter.Delivery
	cursor := ""
	for range 100 {
		page, next, err := db.Deliveries(context.Background(), endpointID,
			status, limit, cursor)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) > limit {
			tb.Fatalf("page of %d deliveries, limit %d", len(page), limit)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
	tb.Fatal("more than 100 pages")
	return nil
}

func TestDeliveriesPaging(t *testing.T) {
	o := newOutbox(t, 5)
	o.finish(t, 1, emitter.Succeeded, time.Time{}, nil)
	o.finish(t, 3, emitter.Succeeded, time.Time{}, nil)

	events := func(ds []*emitter.Delivery) []string {
		var out []string
		for _, d := range ds {
			if d.EndpointID != o.ep.ID {
				t.Errorf("delivery %s of endpoint %s listed", d.ID,
					d.EndpointID)
			}
			out = append(out, d.EventID)
		}
		return out
	}
	tests := []struct {
		status string
		limit  int
		want   []string
	}{
		{"", 2, o.eventIDs(4, 3, 2, 1, 0)},
		{"", 1, o.eventIDs(4, 3, 2, 1, 0)},
		{"", 5, o.eventIDs(4, 3, 2, 1, 0)},
		{"", 100, o.eventIDs(4, 3, 2, 1, 0)},
		{emitter.Succeeded, 1, o.eventIDs(3, 1)},
		{emitter.Pending, 2, o.eventIDs(4, 2, 0)},
		{emitter.Dead, 2, nil},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%q limit %d", tt.status, tt.limit)
		t.Run(name, func(t *testing.T) {
			ds := deliveryPages(t, o.db, o.ep.ID, tt.status, tt.limit)
			got := events(ds)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("page sizes", func(t *testing.T) {
		ctx := context.Background()
		var sizes []int
		cursor := ""
		for {
			page, next, err := o.db.Deliveries(ctx, o.ep.ID, "", 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page))
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
			t.Errorf("page sizes (-want +got):\n%s", diff)
		}
	})

	t.Run("bad cursor", func(t *testing.T) {
		_, _, err := o.db.Deliveries(context.Background(), o.ep.ID, "", 2,
			"!!!")
		var ie *shortener.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("Deliveries(bad cursor) = %v, want *InvalidError", err)
		}
	})
}

// TestLinksOfSomeCampaigns pages through the links of a key's campaigns
// with the campaign index alone.
func TestLinksOfSomeCampaigns(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var links []*shortener.Link
	for i, camp := range []string{"a", "b", "c"} {
		for j := range 5 {
			links = append(links, newLink(fmt.Sprintf("c%d%04d", i, j), camp,
				fmt.Sprintf("+1555555%04d", j)))
		}
	}
	if err := db.CreateLinks(ctx, links, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	q := shortener.Query{Campaigns: []string{"c", "a"}, Limit: 3}
	for range 10 {
		page, next, err := db.Links(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			if l.CampaignID == "b" || seen[l.Code] {
				t.Fatalf("listed %+v", l)
			}
			seen[l.Code] = true
		}
		if q.Cursor = next; next == "" {
			break
		}
	}
	if len(seen) != 10 {
		t.Errorf("listed %d links of campaigns a and c, want 10", len(seen))
	}
}

// TestVisitLogKeepsTheNewest logs 30 bot visits in a few commits and
// finds the 20 newest, newest first.
func TestVisitLogKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := db.CreateLinks(ctx, []*shortener.Link{
		newLink("visited1", "camp1", "+15555550100")}, nil); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for batch := range 5 {
		tally := &tracker.Tally{CampaignID: "camp1", Phone: "+15555550100"}
		for i := range 6 {
			at := base.Add(time.Duration(batch*6+i) * time.Second)
			tally.BotClicks++
			tally.Hours = hourly(at, 0, tally.BotClicks)
			tally.Recent = append(tally.Recent, tracker.VisitRecord{At: at,
				Reason: tracker.ReasonCrawler, Agent: fmt.Sprint(batch*6 + i)})
		}
		_, err := db.CommitClicks(ctx, &tracker.Batch{
			Tallies: map[string]*tracker.Tally{"visited1": tally}})
		if err != nil {
			t.Fatal(err)
		}
	}
	vs, err := db.Visits(ctx, "visited1")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 20 || vs[0].Agent != "29" || vs[19].Agent != "10" {
		t.Errorf("visits = %d, first %q, last %q", len(vs), vs[0].Agent,
			vs[len(vs)-1].Agent)
	}
}

// TestLeadsClickedCountsLeads clicks links of one lead and another, then
// deletes a clicked link and clicks a new one of the same lead: the
// campaign counts each lead once throughout.
func TestLeadsClickedCountsLeads(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	createLinks(t, db, newLink("leadA1", "camp1", "+15555550101"),
		newLink("leadA2", "camp1", "+15555550101"),
		newLink("leadB1", "camp1", "+15555550102"),
		newLink("leadA9", "camp2", "+15555550101"))
	click := func(code, campaign, phone string) {
		t.Helper()
		_, err := db.CommitClicks(ctx, &tracker.Batch{
			Tallies: map[string]*tracker.Tally{code: {CampaignID: campaign,
				Phone: phone, Clicks: 1, First: t0, Last: t0, Hours: hourly(t0, 1, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	leads := func(campaign string) int64 {
		t.Helper()
		s, err := db.CampaignStats(ctx, campaign)
		if err != nil {
			t.Fatal(err)
		}
		return s.LeadsClicked
	}
	const a, b = "+15555550101", "+15555550102"
	on := func(code, campaign, phone string) func() {
		return func() { click(code, campaign, phone) }
	}
	steps := []struct {
		what         string
		do           func()
		camp1, camp2 int64
	}{
		{"first link of lead A", on("leadA1", "camp1", a), 1, 0},
		{"its second link", on("leadA2", "camp1", a), 1, 0},
		{"again", on("leadA2", "camp1", a), 1, 0},
		{"lead B", on("leadB1", "camp1", b), 2, 0},
		{"lead A in another campaign", on("leadA9", "camp2", a), 2, 1},
		{"both of A's links deleted, a new one clicked", func() {
			for _, code := range []string{"leadA1", "leadA2"} {
				if err := db.DeleteLink(ctx, code); err != nil {
					t.Fatal(err)
				}
			}
			createLinks(t, db, newLink("leadA3", "camp1", a))
			click("leadA3", "camp1", a)
		}, 2, 1},
	}
	for _, s := range steps {
		s.do()
		got1, got2 := leads("camp1"), leads("camp2")
		if got1 != s.camp1 || got2 != s.camp2 {
			t.Errorf("after %s: leads clicked %d and %d, want %d and %d",
				s.what, got1, got2, s.camp1, s.camp2)
		}
	}
}

// emitted returns an emitted click on l at at, with its event.
// hourly returns the hourly counts of visits all in the hour of at.
func hourly(at time.Time, clicks, bots int64) []tracker.Hourly {
	return []tracker.Hourly{{Hour: at.Truncate(time.Hour).Unix(),
		Clicks: clicks, BotClicks: bots}}
}

func emitted(ids *emitter.IDs, l *shortener.Link, at time.Time) tracker.Emitted {
	ev := emitter.ClickEvent(ids.New("evt_", at), l.CampaignID,
		emitter.Lead{Phone: l.Phone}, l.URL, "https://s.test/"+l.Code, at)
	return tracker.Emitted{Code: l.Code, CampaignID: l.CampaignID,
		Phone: l.Phone, Created: l.CreatedAt, At: at, Event: ev}
}

// TestDeleteLinkKeepsUnflushedClicks deletes a link whose emitted click
// is in the journal only: the campaign keeps the click and its lead, and
// a new link given the code starts from nothing, also after a reopen.
func TestDeleteLinkKeepsUnflushedClicks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := newLink("gone0001", "camp1", "+15555550101")
	createLinks(t, db, l)
	_, err = db.CommitClicks(ctx, &tracker.Batch{
		Emitted: []tracker.Emitted{emitted(emitter.NewIDs(), l, t0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteLink(ctx, l.Code); err != nil {
		t.Fatal(err)
	}
	createLinks(t, db, newLink("gone0001", "camp1", "+15555550102"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	want := store.CampaignStats{Links: 1, Clicks: 1, Events: 1,
		LeadsClicked: 1}
	got, err := db.CampaignStats(ctx, "camp1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("campaign stats (-want +got):\n%s", diff)
	}
	s, err := db.LinkStats(ctx, l.Code)
	if err != nil {
		t.Fatal(err)
	}
	if s != (store.LinkStats{}) {
		t.Errorf("the new link's stats = %+v, want none", s)
	}
}

// TestLeadsClickedManyLinks clicks every link of a lead with many links
// in a campaign, newest code first, so that each check finds its clicked
// siblings last: the lead counts once.
func TestLeadsClickedManyLinks(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var links []*shortener.Link
	for i := range 200 {
		links = append(links, newLink(fmt.Sprintf("many%04d", i), "camp1",
			"+15555550101"))
	}
	createLinks(t, db, links...)
	for i := len(links) - 1; i >= 0; i-- {
		_, err := db.CommitClicks(ctx, &tracker.Batch{
			Tallies: map[string]*tracker.Tally{links[i].Code: {
				CampaignID: "camp1", Phone: "+15555550101", Clicks: 1,
				First: t0, Last: t0, Hours: hourly(t0, 1, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := db.CampaignStats(ctx, "camp1")
	if err != nil {
		t.Fatal(err)
	}
	if s.LeadsClicked != 1 || s.Clicks != 200 {
		t.Errorf("leads clicked %d, clicks %d; want 1 and 200",
			s.LeadsClicked, s.Clicks)
	}
}

// TestStaleTallyDropped recreates a deleted link's code and commits a
// tally of the old link, as a flush picked up before the delete would: the
// new link does not count it, and counts its own.
func TestStaleTallyDropped(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	createLinks(t, db, newLink("reuse001", "camp1", "+15555550100"))
	if err := db.DeleteLink(ctx, "reuse001"); err != nil {
		t.Fatal(err)
	}
	l := newLink("reuse001", "camp2", "+15555550101")
	l.CreatedAt = t0.Add(time.Hour)
	createLinks(t, db, l)
	for _, created := range []time.Time{t0, l.CreatedAt} {
		_, err := db.CommitClicks(ctx, &tracker.Batch{
			Tallies: map[string]*tracker.Tally{"reuse001": {
				CampaignID: "camp2", Created: created, Clicks: 1,
				First: t0, Last: t0, Hours: hourly(t0, 1, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if s, err := db.LinkStats(ctx, "reuse001"); err != nil || s.Clicks != 1 {
		t.Errorf("new link's counters = %+v, %v; want its own click only", s, err)
	}
}
