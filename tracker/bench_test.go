package tracker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/tracker"
)

// BenchmarkWindowRepeat measures the hot path of a repeat click: the link
// is in the window's LRU and the click emits nothing.
func BenchmarkWindowRepeat(b *testing.B) {
	db := openDB(b)
	w, err := tracker.NewWindow(30*time.Second, 1000, db)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	l := &shortener.Link{Code: "code0001"}
	if _, _, err := w.Admit(ctx, l, t0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if emit, _, _ := w.Admit(ctx, l, t0.Add(time.Second)); emit {
			b.Fatal("repeat emitted")
		}
	}
}

// BenchmarkRecord measures durable clicks from 200 concurrent taps: with
// group commit (many clicks per bbolt transaction) and with one
// transaction per click, the design it replaces.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
	}{{"group-commit", 1000}, {"one-tx-per-click", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			db := openDB(b)
			links := createLinks(b, db, "camp", 10_000)
			putEndpoint(b, db, "wh_bench")
			r := tracker.NewRecorder(db, discard,
				tracker.RecorderOptions{MaxBatch: bc.maxBatch})
			defer r.Stop()
			ids := emitter.NewIDs()
			var n atomic.Int64
			b.SetParallelism(100) // 200 goroutines on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// A prime stride visits codes in no key order, as taps do.
					l := links[(n.Add(1)*7919)%int64(len(links))]
					at := time.Now()
					ev := emitter.ClickEvent(ids.New("evt_", at), l.CampaignID,
						emitter.Lead{Phone: l.Phone}, l.URL,
						"https://link.akti.fyi/"+l.Code, at)
					err := r.Record(context.Background(), tracker.Emitted{
						Code: l.Code, CampaignID: l.CampaignID, Phone: l.Phone,
						At: at, Event: ev})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "clicks/s")
		})
	}
}

// BenchmarkURLFinderSMS is one finder over a typical campaign SMS.
func BenchmarkURLFinderSMS(b *testing.B) {
	f := tracker.NewURLFinder("link.akti.fyi")
	body := fmt.Sprintf("Hi Ann, your spring offer is ready: %s. Reply STOP to opt out.",
		"https://link.akti.fyi/Xk3p9QaZ")
	b.ReportAllocs()
	for b.Loop() {
		if len(f.Distinct(body)) != 1 {
			b.Fatal("no URL")
		}
	}
}
