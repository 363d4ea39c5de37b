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

// TestResolverKeepsWhatIsUsed checks the cache as an LRU: a link resolved
// between every other link's first resolve stays cached while the others
// pass through, and is evicted once it goes unused for longer than the
// cache holds; a changed link is read again after Forget.
func TestResolverKeepsWhatIsUsed(t *testing.T) {
	ctx := context.Background()
	db, links := storedLinks(t, 200)
	r, err := shortener.NewResolver(db, 16)
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(i int) (hit bool) {
		t.Helper()
		h0, _ := r.CacheStats()
		l, err := r.Resolve(ctx, links[i].Code)
		if err != nil {
			t.Fatalf("resolve %d: %v", i, err)
		}
		if l.URL != links[i].URL {
			t.Fatalf("resolve %d: url %q, want %q", i, l.URL, links[i].URL)
		}
		h1, _ := r.CacheStats()
		return h1 > h0
	}

	if resolve(0) {
		t.Fatal("first resolve of link 0 was a hit")
	}
	for i := 1; i < len(links); i++ {
		if resolve(i) {
			t.Fatalf("first resolve of link %d was a hit", i)
		}
		if !resolve(0) {
			t.Fatalf("link 0, resolved after each other one, missed "+
				"after link %d", i)
		}
	}
	if r.Len() != 16 {
		t.Errorf("cache holds %d links, want 16", r.Len())
	}

	// Sixteen other links enter: link 0 is the least recently used.
	for i := 100; i < 116; i++ {
		resolve(i)
	}
	if resolve(0) {
		t.Error("link 0 still cached after 16 other links entered")
	}

	// Cached again; a change is read after Forget.
	resolve(0)
	const changed = "https://example.com/changed"
	_, err = db.UpdateLink(ctx, links[0].Code, func(l *shortener.Link) error {
		l.URL = changed
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Forget(links[0].Code)
	l, err := r.Resolve(ctx, links[0].Code)
	if err != nil || l.URL != changed {
		t.Errorf("after Forget: %+v, %v; want url %q", l, err, changed)
	}
}

// storedLinks returns a new database holding n links, and the links.
func storedLinks(tb testing.TB, n int) (*store.DB, []*shortener.Link) {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "linkd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	links := make([]*shortener.Link, n)
	for i := range links {
		links[i] = &shortener.Link{Code: fmt.Sprintf("c%07d", i),
			URL:        "https://example.com/offer?id=" + fmt.Sprint(i),
			CampaignID: "camp", Phone: "+15555550100", CreatedAt: time.Now()}
	}
	err = db.CreateLinks(context.Background(), links, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return db, links
}
