package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/tracker"
)

// The click journal holds the counter deltas that have not reached their
// links' records yet: one record per emitted click, and records of many
// links' deltas from visits that emitted nothing. Keys are the bucket's
// sequence numbers, so records are appended in commit order and their
// pages written once. The sequence only grows: a link's record keeps the
// last one it applied, which makes a replay skip what a fold already
// counted.
//
// A click's record is the click's time in Unix nanoseconds, then its
// code, campaign and phone, separated by zero bytes. A record of deltas
// starts with deltasTag, which no click's time does, then holds the
// number of links and each link's tally: code, campaign and phone, the
// link's creation, clicks, bot clicks and events, the first click, last
// click and last event, the hours counted and the visits logged. Times
// are Unix nanoseconds (0 for none) and numbers varints; strings are
// preceded by their length.

const deltasTag = 0xff

func encodeJournal(e *tracker.Emitted) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(e.At.UnixNano()))
	return append(v, join([]byte(e.Code), []byte(e.CampaignID),
		[]byte(e.Phone))...)
}

func encodeDeltas(ts map[string]*tracker.Tally) []byte {
	v := binary.AppendUvarint([]byte{deltasTag}, uint64(len(ts)))
	str := func(s string) {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	for code, t := range ts {
		str(code)
		str(t.CampaignID)
		str(t.Phone)
		for _, n := range []int64{nanos(t.Created), t.Clicks, t.BotClicks,
			t.Events, nanos(t.First), nanos(t.Last), nanos(t.LastEvent),
			int64(len(t.Hours))} {
			v = binary.AppendVarint(v, n)
		}
		for _, h := range t.Hours {
			v = binary.AppendVarint(v, h.Hour)
			v = binary.AppendVarint(v, h.Clicks)
			v = binary.AppendVarint(v, h.BotClicks)
		}
		v = binary.AppendVarint(v, int64(len(t.Recent)))
		for _, r := range t.Recent {
			v = binary.AppendVarint(v, nanos(r.At))
			str(string(r.Reason))
			str(r.Agent)
		}
	}
	return v
}

// deltaReader decodes a record of deltas; its first error sticks.
type deltaReader struct {
	v   []byte
	err error
}

func (d *deltaReader) int() int64 {
	n, size := binary.Varint(d.v)
	if size <= 0 {
		d.fail()
		return 0
	}
	d.v = d.v[size:]
	return n
}

// count reads a number of items, each at least one byte long.
func (d *deltaReader) count() int {
	n := d.int()
	if n < 0 || n > int64(len(d.v)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *deltaReader) str() string {
	n, size := binary.Uvarint(d.v)
	if size <= 0 || n > uint64(len(d.v)-size) {
		d.fail()
		return ""
	}
	s := string(d.v[size : size+int(n)])
	d.v = d.v[size+int(n):]
	return s
}

func (d *deltaReader) time() time.Time { return unixNano(d.int()) }

func (d *deltaReader) fail() {
	if d.err == nil {
		d.err = errors.New("truncated")
	}
	d.v = nil
}

// decodeDeltas returns the tallies of a record of deltas by code.
func decodeDeltas(v []byte) (map[string]*tracker.Tally, error) {
	if len(v) == 0 || v[0] != deltasTag {
		return nil, errors.New("not a record of deltas")
	}
	d := &deltaReader{v: v[1:]}
	n, size := binary.Uvarint(d.v)
	if size <= 0 || n > uint64(len(d.v)) {
		return nil, errors.New("bad count")
	}
	d.v = d.v[size:]
	ts := make(map[string]*tracker.Tally, n)
	for range n {
		code := d.str()
		t := &tracker.Tally{CampaignID: d.str(), Phone: d.str(),
			Created: d.time(), Clicks: d.int(), BotClicks: d.int(),
			Events: d.int(), First: d.time(), Last: d.time(),
			LastEvent: d.time()}
		for range d.count() {
			t.Hours = append(t.Hours, tracker.Hourly{Hour: d.int(),
				Clicks: d.int(), BotClicks: d.int()})
		}
		for range d.count() {
			t.Recent = append(t.Recent, tracker.VisitRecord{At: d.time(),
				Reason: tracker.Reason(d.str()), Agent: d.str()})
		}
		if d.err != nil {
			return nil, d.err
		}
		if code == "" || t.Clicks < 0 || t.BotClicks < 0 || t.Events < 0 {
			return nil, errors.New("bad tally")
		}
		ts[code] = t
	}
	if len(d.v) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return ts, nil
}

// journalClick is one decoded click record.
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

// journalTallies returns the tallies of the journal record k, v by code,
// each with the record's sequence number.
func journalTallies(k, v []byte) (map[string]*tracker.Tally, error) {
	if len(k) != 8 {
		return nil, fmt.Errorf("click journal key %x corrupt", k)
	}
	if len(v) > 0 && v[0] == deltasTag {
		ts, err := decodeDeltas(v)
		if err != nil {
			return nil, fmt.Errorf("click journal record %x: %w", k, err)
		}
		for _, t := range ts {
			t.Seq = binary.BigEndian.Uint64(k)
		}
		return ts, nil
	}
	j, err := decodeJournal(k, v)
	if err != nil {
		return nil, err
	}
	t := &tracker.Tally{CampaignID: j.campaign, Phone: j.phone}
	t.AddEvent(j.at, j.seq)
	return map[string]*tracker.Tally{j.code: t}, nil
}

// maxTrim is how many applied journal records one commit deletes: a
// fold's worth at once would hold up the clicks of its commit, and what
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

// replayChunk is about how many links' deltas one transaction of a
// replay applies.
const replayChunk = 20_000

// replayJournal applies, at open, the journal records that a stop
// without a fold left, and empties the journal, in transactions of about
// replayChunk links' deltas. A crash during it leaves what it applied
// marked so in the links' records.
func replayJournal(b *bolt.DB) error {
	return inChunks(b, func(tx *bolt.Tx) (bool, error) {
		return applyJournal(tx, nil, replayChunk)
	})
}

// applyJournalOf applies the journal records of code, for a link being
// deleted: its campaign keeps their clicks, and a new link given the code
// does not inherit them. It reads the whole journal, which holds the
// clicks of about one fold's time.
func applyJournalOf(tx *bolt.Tx, code string) error {
	_, err := applyJournal(tx, func(c string) bool { return c == code }, 0)
	return err
}

// applyJournal applies the tallies of the journal records whose code mine
// accepts (nil: all), skipping those their link's record already counts
// or whose link is gone or newer, and deletes the records applied whole.
// With limit > 0 it stops after the record that brings the tallies read
// to limit, and reports whether records remain.
func applyJournal(tx *bolt.Tx, mine func(code string) bool,
	limit int) (more bool, err error) {
	journal := tx.Bucket(bucketJournal)
	stats := tx.Bucket(bucketLinkStats)
	links := tx.Bucket(bucketLinks)
	cc := newClickCommit(tx)
	var done [][]byte
	read := 0
	c := journal.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if limit > 0 && read >= limit {
			more = true
			break
		}
		ts, err := journalTallies(k, v)
		if err != nil {
			return false, err
		}
		read += len(ts)
		whole := true
		for code, t := range ts {
			if mine != nil && !mine(code) {
				whole = false
				continue
			}
			key := tallyKey(links, code, t)
			if key == nil || t.Seq <= decodeLinkStats(stats.Get(key)).Journal {
				continue
			}
			if err := cc.update(code, key, t); err != nil {
				return false, err
			}
		}
		if whole {
			done = append(done, bytes.Clone(k))
		}
	}
	if err := cc.finish(); err != nil {
		return false, err
	}
	for _, k := range done {
		if err := journal.Delete(k); err != nil {
			return false, err
		}
	}
	return more, nil
}
