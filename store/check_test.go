package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// sample is a closed database file holding links in two campaigns, an
// endpoint with a succeeded, a dead and a pending delivery, and a key.
type sample struct {
	path                     string
	succeeded, dead, pending *emitter.Delivery
	events                   []emitter.Event
}

func newSample(tb testing.TB) *sample {
	tb.Helper()
	ctx := context.Background()
	s := &sample{path: filepath.Join(tb.TempDir(), "linkd.db")}
	db, err := store.Open(s.path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	createLinks(tb, db, newLink("abc123", "camp1", "+15555550100"),
		newLink("def456", "camp1", "+15555550101"),
		newLink("ghi789", "camp2", "+15555550100"))
	ep := &emitter.Endpoint{ID: "wh_a", URL: "https://hooks.test/a",
		Events: emitter.EventTypes, CreatedAt: t0}
	if err := db.PutEndpoint(ctx, ep); err != nil {
		tb.Fatal(err)
	}
	var ds []*emitter.Delivery
	for i := range 3 {
		ev := clickEvent(t0.Add(time.Duration(i)*time.Second), "camp1")
		if _, err := db.AddEvent(ctx, ev); err != nil {
			tb.Fatal(err)
		}
		s.events = append(s.events, ev)
		d, err := db.Delivery(ctx, deliveryOf(ev, ep.ID))
		if err != nil {
			tb.Fatal(err)
		}
		ds = append(ds, d)
	}
	s.succeeded = finish(tb, db, ds[0], emitter.Succeeded, time.Time{}, t0)
	s.dead = finish(tb, db, ds[1], emitter.Dead, time.Time{}, t0)
	// A click and a logged bot visit, for counters, points and a visit.
	tallies := map[string]*tracker.Tally{"abc123": {CampaignID: "camp1",
		Phone: "+15555550100", Clicks: 1, BotClicks: 1, First: t0, Last: t0,
		Hours: hourly(t0, 1, 1), Recent: []tracker.VisitRecord{{At: t0,
			Reason: tracker.ReasonCrawler, Agent: "crawler"}}}}
	_, err = db.CommitClicks(ctx, &tracker.Batch{Tallies: tallies})
	if err != nil {
		tb.Fatal(err)
	}
	s.pending = finish(tb, db, ds[2], emitter.Pending,
		time.Now().Add(time.Hour).UTC(), t0)
	err = db.PutKey(ctx, &store.Key{ID: "key_1", Name: "one",
		Campaigns: []string{"camp1"}, Hash: secretHash("lkd_key_one"),
		CreatedAt: t0})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func clickEvent(at time.Time, campaign string) emitter.Event {
	return emitter.ClickEvent(ids.New("evt_", at), campaign,
		emitter.Lead{Phone: "+15555550100"}, "https://example.com/",
		"https://s.test/abc123", at)
}

// deliveryOf returns the id of ev's delivery to the endpoint.
func deliveryOf(ev emitter.Event, endpointID string) string {
	return "dlv_" + ev.ID[len("evt_"):] + "_" + endpointID[len("wh_"):]
}

// finish stores an attempt at at that leaves d with status and next.
func finish(tb testing.TB, db *store.DB, d *emitter.Delivery, status string,
	next, at time.Time) *emitter.Delivery {
	tb.Helper()
	was := d.NextAttemptAt
	d.Attempts++
	d.Status, d.NextAttemptAt = status, next
	if status == emitter.Succeeded {
		d.DeliveredAt = at
	}
	a := emitter.Attempt{DeliveryID: d.ID, N: d.Attempts, At: at,
		StatusCode: 500}
	_, err := db.FinishAttempt(context.Background(), d, was, a, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func secretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// editFile changes the closed database file at path with bbolt directly.
func editFile(tb testing.TB, path string, fn func(tx *bolt.Tx) error) {
	tb.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		tb.Fatal(err)
	}
}

// checkFile opens the database at path with open and returns Check's report.
func checkFile(tb testing.TB, path string,
	open func(string) (*store.DB, error)) store.Report {
	tb.Helper()
	db, err := open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	r, err := db.Check(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// dueKey is the store's schedule key of delivery id at t.
func dueKey(endpointID string, t time.Time, id string) []byte {
	k := append([]byte(endpointID), 0)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return append(append(k, 0), id...)
}

func indexKey(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

// markerKey returns the key of the dedup marker of the link with code
// created at created: its creation time, big-endian, and its code.
func markerKey(code string, created time.Time) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(created.UnixNano()))
	return append(k, code...)
}

// TestCheckOlderSchema checks a healthy file of schema 5, which has no
// bucket of dedup markers yet: it is ok, and due for a migration.
func TestCheckOlderSchema(t *testing.T) {
	s := newSample(t)
	editFile(t, s.path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("dedup_markers")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"),
			binary.BigEndian.AppendUint64(nil, 5))
	})
	r := checkFile(t, s.path, store.OpenReadOnly)
	want := "ok: 3 links, 2 campaigns, 1 endpoint, 3 events, " +
		"3 deliveries, 3 attempts, 1 key; schema 5 (linkd serve migrates " +
		"it to " + fmt.Sprint(store.SchemaVersion) + ")"
	if got := r.String(); got != want {
		t.Errorf("String() = %q, want %q; problems %q", got, want,
			r.Problems)
	}
}

func TestCheckHealthy(t *testing.T) {
	s := newSample(t)
	for name, open := range map[string]func(string) (*store.DB, error){
		"Open": store.Open, "OpenReadOnly": store.OpenReadOnly,
	} {
		t.Run(name, func(t *testing.T) {
			r := checkFile(t, s.path, open)
			want := store.Report{SchemaVersion: store.SchemaVersion,
				Links: 3, Campaigns: 2, Endpoints: 1, Events: 3,
				Deliveries: 3, Attempts: 3, Keys: 1}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			line := "ok: 3 links, 2 campaigns, 1 endpoint, 3 events, " +
				"3 deliveries, 3 attempts, 1 key; schema " + fmt.Sprint(store.SchemaVersion)
			if got := r.String(); got != line {
				t.Errorf("String() = %q, want %q", got, line)
			}
		})
	}
}

// TestCheckFindsBrokenInvariants breaks one invariant at a time with
// bbolt directly and expects exactly the problems it causes.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(s *sample, tx *bolt.Tx) error
		want    []string
	}{
		{
			name: "counters of a deleted link",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("link_counters")).Put(
					[]byte("\x00\x00\x00\x00\x00\x00\x00\x01gone0001"),
					make([]byte, 64))
			},
			want: []string{`link_counters: key "\x00\x00\x00\x00\x00` +
				`\x00\x00\x01gone0001" is of link "gone0001", which is gone`},
		},
		{
			name: "marker of a deleted link",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("dedup_markers")).Put(
					[]byte("\x00\x00\x00\x00\x00\x00\x00\x01gone0001"),
					make([]byte, 8))
			},
			want: []string{`dedup_markers: key "\x00\x00\x00\x00\x00` +
				`\x00\x00\x01gone0001" is not that of a link`},
		},
		{
			name: "marker of an older link with the same code",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("dedup_markers")).Put(
					[]byte("\x00\x00\x00\x00\x00\x00\x00\x01abc123"),
					make([]byte, 8))
			},
			want: []string{`dedup_markers: key "\x00\x00\x00\x00\x00` +
				`\x00\x00\x01abc123" is of an older link "abc123"`},
		},
		{
			name: "marker that is not a time",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("dedup_markers")).Put(
					markerKey("abc123", t0), []byte("bad"))
			},
			want: []string{`dedup_markers: marker of link "abc123" is 3 ` +
				`bytes, not 8`},
		},
		{
			name: "visit of an older link with the same code",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("visit_log")).Put(
					[]byte("\x00\x00\x00\x00\x00\x00\x00\x01abc123\x00x"),
					[]byte("{}"))
			},
			want: []string{`visit_log: key "\x00\x00\x00\x00\x00\x00` +
				`\x00\x01abc123\x00x" is of an older link "abc123"`},
		},
		{
			name: "dangling campaign index entry",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("links_by_campaign")).Put(
					indexKey("camp1", "+15555550199", "nope0000"), nil)
			},
			want: []string{`links_by_campaign: entry of campaign "camp1" ` +
				`points at link "nope0000": link not found`},
		},
		{
			name: "campaign index entry of another campaign",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("links_by_campaign")).Put(
					indexKey("camp2", "+15555550100", "abc123"), nil)
			},
			want: []string{`links_by_campaign: entry of campaign "camp2" ` +
				`points at link "abc123" of campaign "camp1"`},
		},
		{
			name: "phone index entry with another phone",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("links_by_phone")).Put(
					indexKey("+15555550199", "abc123"), nil)
			},
			want: []string{`links_by_phone: entry points at link ` +
				`"abc123", which has another phone`},
		},
		{
			name: "link missing from the phone index",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("links_by_phone")).Delete(
					indexKey("+15555550100", "abc123"))
			},
			want: []string{`links_by_phone: link "abc123" is not listed ` +
				`under its phone`},
		},
		{
			name: "campaign link counter off",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("campaign_stats")).Put(
					[]byte("camp1"), []byte(`{"links":5}`))
			},
			want: []string{`campaign_stats: campaign "camp1" counts 5 ` +
				`links, and 2 are stored`},
		},
		{
			name: "schedule entry at the wrong time",
			corrupt: func(s *sample, tx *bolt.Tx) error {
				b := tx.Bucket([]byte("deliveries_due"))
				d := s.pending
				err := b.Delete(dueKey(d.EndpointID, d.NextAttemptAt, d.ID))
				if err != nil {
					return err
				}
				return b.Put(dueKey(d.EndpointID,
					d.NextAttemptAt.Add(time.Second), d.ID), nil)
			},
			want: []string{
				`deliveries_due: pending delivery "{pending}" is not ` +
					`scheduled at its next attempt {next}`,
				`deliveries_due: entry of delivery "{pending}" is at ` +
					`{next+1s}, its next attempt at {next}`,
			},
		},
		{
			name: "schedule entry of a succeeded delivery",
			corrupt: func(s *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("deliveries_due")).Put(
					dueKey("wh_a", t0, s.succeeded.ID), nil)
			},
			want: []string{`deliveries_due: entry points at succeeded ` +
				`delivery "{succeeded}"`},
		},
		{
			name: "schedule entry of a missing endpoint",
			corrupt: func(s *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("deliveries_due")).Put(
					dueKey("wh_gone", t0, s.pending.ID), nil)
			},
			want: []string{
				`deliveries_due: entry of delivery "{pending}" names ` +
					`missing endpoint "wh_gone"`,
				`deliveries_due: entry under endpoint "wh_gone" points ` +
					`at delivery "{pending}" of endpoint "wh_a"`,
			},
		},
		{
			name: "delivery of a missing event",
			corrupt: func(s *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("events")).Delete(
					[]byte(s.pending.EventID))
			},
			want: []string{`deliveries: delivery "{pending}" carries ` +
				`missing event "{pending event}"`},
		},
		{
			name: "attempt of a missing delivery",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				k := binary.BigEndian.AppendUint64(
					[]byte("dlv_nope\x00"), 1)
				return tx.Bucket([]byte("attempts")).Put(k, []byte("{}"))
			},
			want: []string{`attempts: attempt of missing delivery ` +
				`"dlv_nope"`},
		},
		{
			name: "hash entry of a missing key",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("key_hashes")).Put(
					secretHash("lkd_key_gone"), []byte("key_gone"))
			},
			want: []string{`key_hashes: entry points at key "key_gone": ` +
				`key not found`},
		},
		{
			name: "key without its hash entry",
			corrupt: func(_ *sample, tx *bolt.Tx) error {
				return tx.Bucket([]byte("key_hashes")).Delete(
					secretHash("lkd_key_one"))
			},
			want: []string{`key_hashes: key "key_1" is not found by its ` +
				`hash`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSample(t)
			editFile(t, s.path, func(tx *bolt.Tx) error { return tt.corrupt(s, tx) })
			next := s.pending.NextAttemptAt
			names := strings.NewReplacer(
				"{pending}", s.pending.ID,
				"{pending event}", s.pending.EventID,
				"{succeeded}", s.succeeded.ID,
				"{next}", next.Format(time.RFC3339Nano),
				"{next+1s}", next.Add(time.Second).Format(time.RFC3339Nano))
			var want []string
			for _, w := range tt.want {
				want = append(want, names.Replace(w))
			}

			r := checkFile(t, s.path, store.OpenReadOnly)
			if diff := cmp.Diff(want, r.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if r.OK() || !strings.HasSuffix(r.String(), "problems") &&
				!strings.HasSuffix(r.String(), "problem") {
				t.Errorf("String() = %q for a broken database", r.String())
			}
		})
	}
}

func TestCheckStopsWithContext(t *testing.T) {
	s := newSample(t)
	db, err := store.OpenReadOnly(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with an ended context = %v, want %v", err,
			context.Canceled)
	}
}

func TestOpenReadOnlyChangesNothing(t *testing.T) {
	s := newSample(t)
	db, err := store.OpenReadOnly(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PutKey(context.Background(), &store.Key{ID: "key_2"})
	if err == nil {
		t.Error("PutKey on a read-only database succeeded")
	}
	if _, err := store.OpenReadOnly(filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("OpenReadOnly of a missing file succeeded")
	}
}

func TestOpenReadOnlyLocked(t *testing.T) {
	db := openDB(t)
	_, err := store.OpenReadOnly(db.Path())
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("OpenReadOnly of a held file = %v, want %v", err,
			store.ErrLocked)
	}
}
