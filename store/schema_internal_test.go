package store

import (
	"context"
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
