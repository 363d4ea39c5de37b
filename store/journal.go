package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/tracker"
)

// The click journal holds one record per emitted click whose counters
// and dedup marker have not reached its link's record yet. Keys are the
// bucket's sequence numbers, so records are appended in commit order and
// their pages written once; the value is the click's time in Unix
// nanoseconds, then its code, campaign and phone, separated by zero
// bytes. The sequence only grows: a link's record keeps the last one it
// applied, which makes a replay skip what a flush already counted.

func encodeJournal(e *tracker.Emitted) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(e.At.UnixNano()))
	return append(v, join([]byte(e.Code), []byte(e.CampaignID),
		[]byte(e.Phone))...)
}

// journalClick is one decoded journal record.
type journalClick struct {
	seq                   uint64
	code, campaign, phone string
	at                    time.Time
}

func decodeJournal(k, v []byte) (journalClick, error) {
	parts := bytes.Split(v[min(8, len(v)):], []byte{0})
	if len(k) != 8 || len(v) < 8 || len(parts) != 3 || len(parts[0]) == 0 {
		return journalClick{}, fmt.Errorf("click journal record %x corrupt", k)
	}
	return journalClick{seq: binary.BigEndian.Uint64(k),
		code: string(parts[0]), campaign: string(parts[1]),
		phone: string(parts[2]),
		at:    time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()}, nil
}

// tally returns the counters the record's click adds to its link.
func (j journalClick) tally() *tracker.Tally {
	t := &tracker.Tally{CampaignID: j.campaign, Phone: j.phone}
	t.AddEvent(j.at, j.seq)
	return t
}

// maxTrim is how many applied journal records one commit deletes: a
// flush's worth at once would hold up the clicks of its commit, and what
// is left for later commits a replay skips anyway.
const maxTrim = 512

// trimJournal deletes up to n of the oldest records, those up to seq,
// which the link records have applied.
func trimJournal(journal *bolt.Bucket, seq uint64, n int) error {
	if seq == 0 {
		return nil
	}
	c := journal.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq &&
		n > 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return nil
}

// replayJournal applies, at open, the journal records that a stop
// without a flush left, and empties the journal.
func replayJournal(tx *bolt.Tx) error {
	return applyJournal(tx, func(string) bool { return true })
}

// applyJournalOf applies the journal records of code, for a link being
// deleted: its campaign keeps their clicks, and a new link given the code
// does not inherit them. It reads the whole journal, which holds about a
// second of clicks.
func applyJournalOf(tx *bolt.Tx, code string) error {
	return applyJournal(tx, func(c string) bool { return c == code })
}

// applyJournal applies the journal records whose code mine accepts,
// skipping those their link's record already counts or whose link is
// gone, and deletes them.
func applyJournal(tx *bolt.Tx, mine func(code string) bool) error {
	journal := tx.Bucket(bucketJournal)
	stats := tx.Bucket(bucketLinkStats)
	cc := newClickCommit(tx)
	var done [][]byte
	c := journal.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		j, err := decodeJournal(k, v)
		if err != nil {
			return err
		}
		if !mine(j.code) {
			continue
		}
		done = append(done, bytes.Clone(k))
		key := linkStatsKey(tx, j.code)
		if key == nil || j.seq <= decodeLinkStats(stats.Get(key)).Journal {
			continue
		}
		if err := cc.update(j.code, key, j.tally()); err != nil {
			return err
		}
	}
	if err := cc.finish(); err != nil {
		return err
	}
	for _, k := range done {
		if err := journal.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
