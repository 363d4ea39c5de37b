package shortener_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
)

// BenchmarkResolve measures code resolution through the LRU (cached) and
// with every lookup read from bbolt (uncached).
func BenchmarkResolve(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "linkd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	links := make([]*shortener.Link, 10000)
	for i := range links {
		links[i] = &shortener.Link{Code: fmt.Sprintf("c%07d", i),
			URL: "https://example.com/offer?id=" + fmt.Sprint(i), CampaignID: "camp",
			Phone: "+15555550100", CreatedAt: time.Now()}
	}
	if err := db.CreateLinks(context.Background(), links, nil); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		size int
	}{{"cached", 20000}, {"uncached", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := shortener.NewResolver(db, bc.size)
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range links {
				r.Resolve(ctx, l.Code)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Resolve(ctx, links[i%len(links)].Code); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
