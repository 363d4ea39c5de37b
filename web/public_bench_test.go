package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
	"github.com/akti/linkd/web"
)

// BenchmarkRedirectRepeat serves a lead's repeat tap on a cached code
// through the whole public handler: the hot path, with no event.
func BenchmarkRedirectRepeat(b *testing.B) {
	h, _ := hotHandler(b, 1000)
	req := tapRequest("/c0000001")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req) // the first tap emits; the rest repeat
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusFound {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkRedirectRepeatParallel serves repeat taps on 10,000 cached
// codes from every CPU at once, as the bench's hot scenario does: what
// the shared caches, the dedup window and the counters cost when
// contended.
func BenchmarkRedirectRepeatParallel(b *testing.B) {
	h, codes := hotHandler(b, 10_000)
	reqs := make([]*http.Request, len(codes))
	for i, c := range codes {
		reqs[i] = tapRequest("/" + c)
		h.ServeHTTP(httptest.NewRecorder(), reqs[i]) // each emits once
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for i := 0; pb.Next(); i += 7919 {
			clear(w.h)
			h.ServeHTTP(w, reqs[i%len(reqs)])
			if w.status != http.StatusFound {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}

func tapRequest(path string) *http.Request {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like "+
		"Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "+
		"Mobile/15E148 Safari/604.1")
	return req
}

// hotHandler returns the public handler over n links in a new database,
// with a dedup window of an hour, and the links' codes.
func hotHandler(b *testing.B, n int) (http.Handler, []string) {
	db, err := store.Open(filepath.Join(b.TempDir(), "linkd.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	links := make([]*shortener.Link, n)
	for i := range links {
		links[i] = &shortener.Link{Code: fmt.Sprintf("c%07d", i),
			URL: "https://example.com/offer?id=1", CampaignID: "camp",
			Phone: "+15555550100", CreatedAt: time.Now()}
	}
	if err := db.CreateLinks(context.Background(), links, nil); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rec := tracker.NewRecorder(db, log, tracker.RecorderOptions{})
	b.Cleanup(rec.Stop)
	win, _ := tracker.NewWindow(time.Hour, 2*n, rec)
	res, _ := shortener.NewResolver(db, 2*n)
	p := &web.Public{Resolver: res, Classifier: tracker.NewClassifier(16),
		Visitor: tracker.NewTracker(win, rec, "https://link.akti.fyi", time.Now),
		Log:     log, Now: time.Now,
		Metrics: web.NewMetrics(web.MetricsSources{Resolver: res, Store: db, Counters: rec,
			Window: win})}
	codes := make([]string, n)
	for i, l := range links {
		codes[i] = l.Code
	}
	return p.Handler(), codes
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
