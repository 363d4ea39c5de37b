package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/tracker"
)

// TestReplayInChunks replays a journal of five records two at a time,
// as a replay too big for one transaction goes: each transaction
// applies and deletes its records only, and the links count each once.
func TestReplayInChunks(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "linkd.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	created := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		l := &shortener.Link{Code: "chunk001", CampaignID: "camp1",
			CreatedAt: created}
		if err := tx.Bucket(bucketLinks).Put([]byte(l.Code),
			encodeLink(l)); err != nil {
			return err
		}
		journal := tx.Bucket(bucketJournal)
		for i := range 5 {
			v := encodeDeltas(map[string]*tracker.Tally{l.Code: {
				CampaignID: "camp1", Created: created, Clicks: 1,
				First: created, Last: created}})
			if err := journal.Put(u64(uint64(i+1)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var left []int
	for more := true; more; {
		err := b.Update(func(tx *bolt.Tx) error {
			var err error
			more, err = applyJournal(tx, nil, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = b.View(func(tx *bolt.Tx) error {
			n := 0
			err := tx.Bucket(bucketJournal).ForEach(func(_, _ []byte) error {
				n++
				return nil
			})
			left = append(left, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int{3, 1, 0}, left); diff != "" {
		t.Errorf("records left after each transaction (-want +got):\n%s", diff)
	}
	err = b.View(func(tx *bolt.Tx) error {
		s, err := getLinkStats(tx, "chunk001")
		if s.Clicks != 5 || s.Journal != 5 {
			t.Errorf("clicks %d, journal %d; want 5 and 5", s.Clicks, s.Journal)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeDeltas decodes arbitrary records without panicking, and what
// decodes encodes to a record that decodes the same.
func FuzzDecodeDeltas(f *testing.F) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	f.Add(encodeDeltas(map[string]*tracker.Tally{"abc123": {
		CampaignID: "camp1", Phone: "+15555550100", Created: at,
		Clicks: 2, BotClicks: 1, Events: 1, First: at, Last: at,
		LastEvent: at, Hours: []tracker.Hourly{{Hour: at.Unix(), Clicks: 2,
			BotClicks: 1}},
		Recent: []tracker.VisitRecord{{At: at, Reason: tracker.ReasonCrawler,
			Agent: "crawler"}}}}))
	f.Add([]byte{deltasTag, 0})
	f.Add([]byte{deltasTag, 9, 1})
	f.Fuzz(func(t *testing.T, v []byte) {
		ts, err := decodeDeltas(v)
		if err != nil {
			return
		}
		again, err := decodeDeltas(encodeDeltas(ts))
		if err != nil {
			t.Fatalf("record %x decodes, its encoding does not: %v", v, err)
		}
		if diff := cmp.Diff(ts, again); diff != "" {
			t.Errorf("record %x decodes, then its encoding (-first +again):\n%s",
				v, diff)
		}
	})
}
