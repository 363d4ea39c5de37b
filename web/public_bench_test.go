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
	db, err := store.Open(filepath.Join(b.TempDir(), "linkd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	links := make([]*shortener.Link, 1000)
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
	defer rec.Stop()
	win, _ := tracker.NewWindow(time.Hour, 10000, db)
	res, _ := shortener.NewResolver(db, 10000)
	p := &web.Public{Resolver: res, Classifier: tracker.NewClassifier(16),
		Visitor: tracker.NewTracker(win, rec, "https://link.akti.fyi", time.Now),
		Log:     log, Now: time.Now,
		Metrics: web.NewMetrics(web.MetricsSources{Resolver: res, Store: db})}
	h := p.Handler()
	req := httptest.NewRequest("GET", "/c0000001", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like "+
		"Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "+
		"Mobile/15E148 Safari/604.1")
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

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
