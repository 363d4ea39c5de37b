package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/shortener"
)

func TestMigrationsCoverEveryVersion(t *testing.T) {
	for v, step := range migrations() {
		if step == nil {
			t.Errorf("no migration from schema %d to %d", v, v+1)
		}
	}
}

// TestMoveByCreationResumes moves part of a version 3 counters bucket, as
// an upgrade that crashed after its first transaction would leave it,
// then the rest, and finds every key once under its new key, and the old
// bucket gone.
func TestMoveByCreationResumes(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "linkd.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	created := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	want := map[string]string{}
	err = b.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		if err := meta.Put(keySchema, u64(SchemaVersion)); err != nil {
			return err
		}
		links, _ := tx.CreateBucket(bucketLinks)
		tx.CreateBucket(bucketLinkStats)
		tx.CreateBucket(bucketVisits)
		old, err := tx.CreateBucket(legacyLinkStats)
		if err != nil {
			return err
		}
		for i := range 5 {
			l := &shortener.Link{Code: fmt.Sprintf("code%04d", i),
				CreatedAt: created.Add(time.Duration(5-i) * time.Second)}
			if err := links.Put([]byte(l.Code), encodeLink(l)); err != nil {
				return err
			}
			key := statsKeyAt(l.Code, l.CreatedAt)
			v := fmt.Sprint("counters of ", l.Code)
			point := fmt.Sprint("point of ", l.Code)
			if err := old.Put([]byte(l.Code), []byte(v)); err != nil {
				return err
			}
			if err := old.Put(pointKey(linkPrefix([]byte(l.Code)), 7),
				[]byte(point)); err != nil {
				return err
			}
			want[string(key)] = v
			want[string(pointKey(linkPrefix(key), 7))] = point
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var done bool
	err = b.Update(func(tx *bolt.Tx) error {
		done, err = moveSome(tx, legacyLinkStats, bucketLinkStats, 3)
		return err
	})
	if err != nil || done {
		t.Fatalf("first chunk: done %v, %v", done, err)
	}
	db := &DB{bolt: b}
	if r, err := db.Check(context.Background()); err != nil || !r.Moving {
		t.Errorf("check of a half-moved file: moving %v, %v", r.Moving, err)
	}
	ok := Report{SchemaVersion: SchemaVersion, Moving: true}.String()
	if !strings.Contains(ok, "still moving") {
		t.Errorf("check's line for a half-moved file: %q", ok)
	}
	if err := moveByCreation(b); err != nil {
		t.Fatal(err)
	}
	if r, err := db.Check(context.Background()); err != nil || r.Moving {
		t.Errorf("check after the move: moving %v, %v", r.Moving, err)
	}
	got := map[string]string{}
	err = b.View(func(tx *bolt.Tx) error {
		if tx.Bucket(legacyLinkStats) != nil {
			t.Error("the old bucket is still there")
		}
		return tx.Bucket(bucketLinkStats).ForEach(func(k, v []byte) error {
			got[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d keys moved, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %q = %q, want %q", k, got[k], v)
		}
	}
}

// TestMoveMarkersResumes copies part of the dedup markers of schema 5's
// counter records, as an upgrade that crashed after its first transaction
// would leave it, then the rest: each link that had a marker has it in
// the markers bucket, the others have none, and the counters read as
// before.
func TestMoveMarkersResumes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "linkd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	created := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var links []*shortener.Link
	for i := range 7 {
		links = append(links, &shortener.Link{
			Code: fmt.Sprintf("code%04d", i), CampaignID: "camp1",
			Phone: "+15555550100", URL: "https://example.com/",
			CreatedAt: created.Add(time.Duration(i) * time.Second)})
	}
	err = db.CreateLinks(ctx, links, func() (string, error) {
		return "", fmt.Errorf("no code wanted")
	})
	if err != nil {
		t.Fatal(err)
	}

	// Schema 5's records: clicks, bots, events, first and last click,
	// marker, logged, journal; and an hourly point after each.
	want := map[string]time.Time{}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		stats := tx.Bucket(bucketLinkStats)
		if err := tx.Bucket(bucketMeta).Put(keySchema, u64(5)); err != nil {
			return err
		}
		if err := startMarkerMove(tx); err != nil {
			return err
		}
		for i, l := range links {
			var at time.Time
			if i%2 == 0 {
				at = created.Add(time.Duration(i) * time.Minute)
				want[l.Code] = at
			}
			var v []byte
			for _, n := range []int64{int64(i) + 1, 0, 1, 0, 0, nanos(at),
				0, 0} {
				v = binary.BigEndian.AppendUint64(v, uint64(n))
			}
			key := statsKeyAt(l.Code, l.CreatedAt)
			if err := stats.Put(key, v); err != nil {
				return err
			}
			err := addPoint(stats, linkPrefix(key), 7, int64(i)+1, 0)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var more bool
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		more, err = moveSomeMarkers(tx, 5)
		return err
	})
	if err != nil || !more {
		t.Fatalf("first chunk: more %v, %v", more, err)
	}
	if r, err := db.Check(ctx); err != nil || !r.Moving {
		t.Errorf("check of a half-moved file: moving %v, %v", r.Moving, err)
	}
	if err := moveMarkers(db.bolt); err != nil {
		t.Fatal(err)
	}
	if r, err := db.Check(ctx); err != nil || r.Moving || !r.OK() {
		t.Errorf("check after the move: %v, moving %v, %v: %q", r,
			r.Moving, err, r.Problems)
	}
	for i, l := range links {
		at, err := db.LastEvent(ctx, l)
		if err != nil || !at.Equal(want[l.Code]) {
			t.Errorf("marker of %s = %v, %v; want %v", l.Code, at, err,
				want[l.Code])
		}
		s, err := db.LinkStats(ctx, l.Code)
		if err != nil || s.Clicks != int64(i)+1 || s.Events != 1 ||
			!s.LastEventAt.Equal(want[l.Code]) {
			t.Errorf("counters of %s = %+v, %v", l.Code, s, err)
		}
	}
}
