package shortener_test

import (
	"context"
	"testing"

	"github.com/akti/linkd/shortener"
)

// BenchmarkResolve measures code resolution through the LRU (cached) and
// with every lookup read from bbolt (uncached).
func BenchmarkResolve(b *testing.B) {
	db, links := storedLinks(b, 10000)
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
