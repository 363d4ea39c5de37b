package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// TestOpenMigratesVersionZero opens a file from before schema versions
// were kept: its buckets and a link, and no schema_version in meta.
func TestOpenMigratesVersionZero(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	putRaw(t, path, []rawRecord{
		{"meta", "", ""},
		{"links", "old00001", `{"code":"old00001",` +
			`"url":"https://example.com/old","campaignId":"camp1",` +
			`"phone":"+15555550100","createdAt":"2024-01-28T12:00:00Z"}`},
		{"links_by_campaign", "camp1\x00+15555550100\x00old00001", ""},
		{"links_by_phone", "+15555550100\x00old00001", ""},
		{"campaign_stats", "camp1", `{"links":1}`},
	})

	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("Open of a version 0 file: %v", err)
	}
	defer db.Close()
	r, err := db.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := store.Report{SchemaVersion: store.SchemaVersion, Links: 1,
		Campaigns: 1}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("report after migration (-want +got):\n%s", diff)
	}
	if l := getLink(t, db, "old00001"); l.URL != "https://example.com/old" {
		t.Errorf("migrated link = %+v", l)
	}
}

// TestOpenRefusesNewerSchema writes a version this build does not know
// into a file: Open and OpenReadOnly refuse it and leave it as it is.
func TestOpenRefusesNewerSchema(t *testing.T) {
	newer := uint64(store.SchemaVersion + 1)
	db := openDB(t)
	path := db.Path()
	db.Close()
	setSchema := func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"),
			binary.BigEndian.AppendUint64(nil, newer))
	}
	editFile(t, path, setSchema)

	for name, open := range map[string]func(string) (*store.DB, error){
		"Open": store.Open, "OpenReadOnly": store.OpenReadOnly,
	} {
		db, err := open(path)
		if err == nil {
			db.Close()
			t.Fatalf("%s of a version %d file succeeded", name, newer)
		}
		if !errors.Is(err, store.ErrNewerSchema) ||
			!strings.Contains(err.Error(), fmt.Sprintf("version %d", newer)) {
			t.Errorf("%s = %v, want %v naming version %d", name, err,
				store.ErrNewerSchema, newer)
		}
	}
	editFile(t, path, func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte("meta")).Get([]byte("schema_version"))
		if got := binary.BigEndian.Uint64(v); got != newer {
			t.Errorf("schema_version after the refusals = %d, want %d",
				got, newer)
		}
		return nil
	})
}

// TestOpenMigratesVersionOne opens a version 1 file, whose links and link
// counters were JSON and whose link points lived in the series bucket,
// and finds them all in the binary records of version 2.
func TestOpenMigratesVersionOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkd.db")
	hour := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	point := append([]byte("lold00001\x00"), make([]byte, 8)...)
	binary.BigEndian.PutUint64(point[len(point)-8:], uint64(hour.Unix()))
	value := make([]byte, 16)
	binary.BigEndian.PutUint64(value, 3)
	binary.BigEndian.PutUint64(value[8:], 2)
	one := make([]byte, 8)
	binary.BigEndian.PutUint64(one, 1)
	putRaw(t, path, []rawRecord{
		{"meta", "schema_version", string(one)},
		{"links", "old00001", `{"code":"old00001",` +
			`"url":"https://example.com/old","campaignId":"camp1",` +
			`"phone":"+15555550100","externalLeadId":"lead-1",` +
			`"createdAt":"2024-01-28T12:00:00Z","expiresAt":null,"disabled":true}`},
		{"links_by_campaign", "camp1\x00+15555550100\x00old00001", ""},
		{"links_by_phone", "+15555550100\x00old00001", ""},
		{"campaign_stats", "camp1", `{"links":1}`},
		{"link_stats", "old00001", `{"clicks":3,"botClicks":2,"events":1,` +
			`"lastEventAt":"2026-12-04T15:04:05Z"}`},
		{"series", string(point), string(value)},
	})

	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("Open of a version 1 file: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	l := getLink(t, db, "old00001")
	if l.URL != "https://example.com/old" || !l.Disabled || l.ExternalLeadID != "lead-1" {
		t.Errorf("migrated link = %+v", l)
	}
	s, err := db.LinkStats(ctx, "old00001")
	if err != nil || s.Clicks != 3 || s.BotClicks != 2 || s.Events != 1 ||
		!s.LastEventAt.Equal(time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("migrated counters = %+v, %v", s, err)
	}
	ps, err := db.LinkSeries(ctx, "old00001", hour.Add(-time.Hour))
	want := []store.Point{{Hour: hour, Clicks: 3, BotClicks: 2}}
	if diff := cmp.Diff(want, ps); diff != "" || err != nil {
		t.Errorf("migrated points (-want +got):\n%s%v", diff, err)
	}
	r, err := db.Check(ctx)
	if err != nil || len(r.Problems) != 0 {
		t.Errorf("check after migration: %+v %v", r.Problems, err)
	}
}

// rawRecord is one key of a bucket as an older linkd wrote it; an empty
// key only creates the bucket.
type rawRecord struct{ bucket, key, value string }

// putRaw writes records to the bbolt file at path, bypassing the store.
func putRaw(tb testing.TB, path string, records []rawRecord) {
	tb.Helper()
	editFile(tb, path, func(tx *bolt.Tx) error {
		for _, r := range records {
			b, err := tx.CreateBucketIfNotExists([]byte(r.bucket))
			if err != nil {
				return err
			}
			if r.key == "" {
				continue
			}
			if err := b.Put([]byte(r.key), []byte(r.value)); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestOpenMigratesVersionThree opens a version 3 file, whose link
// counters and points were keyed by the link's code, and finds each
// link's own counters and points, and none of a link gone since.
func TestOpenMigratesVersionThree(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	early, late := newLink("early001", "camp1", "+15555550101"),
		newLink("late0001", "camp1", "+15555550102")
	late.CreatedAt = t0.Add(time.Hour)
	createLinks(t, db, early, late)
	hour := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	tallies := map[string]*tracker.Tally{}
	for i, code := range []string{"early001", "late0001"} {
		tallies[code] = &tracker.Tally{CampaignID: "camp1", Clicks: 1,
			BotClicks: int64(i + 1), First: hour, Last: hour,
			Hours: hourly(hour, 1, int64(i+1)),
			Recent: []tracker.VisitRecord{{At: hour,
				Reason: tracker.ReasonCrawler, Agent: code}}}
	}
	if _, err := db.CommitClicks(ctx, &tracker.Batch{Tallies: tallies}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Back to version 3's keys, with the counters of a deleted link left
	// behind, as a version 3 linkd could not leave them but a bad file
	// may.
	editFile(t, path, func(tx *bolt.Tx) error {
		for to, from := range map[string]string{"link_stats": "link_counters",
			"visits": "visit_log"} {
			b, err := tx.CreateBucket([]byte(to))
			if err != nil {
				return err
			}
			var vs [][]byte
			err = tx.Bucket([]byte(from)).ForEach(func(k, v []byte) error {
				vs = append(vs, bytes.Clone(v))
				return b.Put(bytes.Clone(k[8:]), vs[len(vs)-1])
			})
			if err != nil {
				return err
			}
			if err := b.Put([]byte("gone0001"), vs[0]); err != nil {
				return err
			}
			if err := tx.DeleteBucket([]byte(from)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"),
			binary.BigEndian.AppendUint64(nil, 3))
	})

	db, err = store.Open(path)
	if err != nil {
		t.Fatalf("Open of a version 3 file: %v", err)
	}
	for i, code := range []string{"early001", "late0001"} {
		s, err := db.LinkStats(ctx, code)
		if err != nil || s.Clicks != 1 || s.BotClicks != int64(i+1) ||
			!s.FirstClickAt.Equal(hour) {
			t.Errorf("%s: migrated counters = %+v, %v", code, s, err)
		}
		ps, err := db.LinkSeries(ctx, code, hour)
		want := []store.Point{{Hour: hour, Clicks: 1, BotClicks: int64(i + 1)}}
		if diff := cmp.Diff(want, ps); diff != "" || err != nil {
			t.Errorf("%s: migrated points (-want +got):\n%s%v", code, diff, err)
		}
		vs, err := db.Visits(ctx, code)
		if err != nil || len(vs) != 1 || vs[0].Agent != code {
			t.Errorf("%s: migrated visits = %+v, %v", code, vs, err)
		}
	}
	if s, err := db.LinkStats(ctx, "gone0001"); err != nil || s.Clicks != 0 {
		t.Errorf("counters of a link that is gone = %+v, %v", s, err)
	}
	if err := db.DeleteLink(ctx, "early001"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// What is left is the other link's counters, its one point and its
	// one visit.
	editFile(t, path, func(tx *bolt.Tx) error {
		var left []string
		kept := 0
		for _, name := range []string{"link_stats", "visits"} {
			if tx.Bucket([]byte(name)) != nil {
				left = append(left, "bucket "+name)
			}
		}
		for _, name := range []string{"link_counters", "visit_log"} {
			tx.Bucket([]byte(name)).ForEach(func(k, _ []byte) error {
				if bytes.Contains(k, []byte("late0001")) {
					kept++
				} else {
					left = append(left, fmt.Sprintf("%s %q", name, k))
				}
				return nil
			})
		}
		if len(left) != 0 || kept != 3 {
			t.Errorf("after deleting early001: %d keys of late0001, want 3; "+
				"others left: %v", kept, left)
		}
		return nil
	})
}
