package shortener

import (
	"context"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// LinkSource looks links up by code; it returns ErrNotFound for an unknown
// code.
type LinkSource interface {
	Link(ctx context.Context, code string) (*Link, error)
}

// Resolver turns codes into links through an LRU cache in front of a
// LinkSource. It is safe for concurrent use. Cached links are shared and
// must not be modified by callers.
//
// A hit moves its link to the front of the LRU only when the link has
// drifted into the older half, which reads the cache under its shared
// lock and leaves its list alone on most hits of a hot code. So a link
// resolved at least once per half the cache's size of other links
// entering or moving stays cached, as it would in a plain LRU of half
// the size; one resolved less often may be evicted before an exact LRU
// would evict it.
//
// Forget must be called after a link changes or is deleted; a lookup that
// raced with the change does not put the old value back in the cache.
type Resolver struct {
	src   LinkSource
	cache *lru.Cache[string, *cached]
	half  uint64
	// moves counts the links sent to the cache's front: fills and
	// promotions.
	moves atomic.Uint64

	// mu orders a miss's fill of the cache against Forget; gen counts
	// Forgets, so a fill that raced with one is dropped.
	mu  sync.Mutex
	gen uint64

	hits, misses atomic.Int64
}

// cached is a link in the cache, held by value so that a hit reads one
// object, and the value of moves when it last went to the front.
type cached struct {
	link  Link
	moved atomic.Uint64
}

// NewResolver returns a Resolver caching up to size links from src.
func NewResolver(src LinkSource, size int) (*Resolver, error) {
	c, err := lru.New[string, *cached](size)
	if err != nil {
		return nil, err
	}
	return &Resolver{src: src, cache: c, half: uint64(size) / 2}, nil
}

// Resolve returns the link for code, or ErrNotFound. It does not check
// whether the link is live.
func (r *Resolver) Resolve(ctx context.Context, code string) (*Link, error) {
	if c, ok := r.cache.Peek(code); ok {
		r.hits.Add(1)
		// Fewer moves since its own than half the size keep it in the
		// front half; past that it may have drifted into the older one.
		if r.moves.Load()-c.moved.Load() >= r.half {
			r.cache.Get(code)
			c.moved.Store(r.moves.Add(1))
		}
		return &c.link, nil
	}
	r.misses.Add(1)
	r.mu.Lock()
	gen := r.gen
	r.mu.Unlock()
	l, err := r.src.Link(ctx, code)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.gen == gen {
		c := &cached{link: *l}
		c.moved.Store(r.moves.Add(1))
		r.cache.Add(code, c)
	}
	r.mu.Unlock()
	return l, nil
}

// Forget drops code from the cache so the next Resolve reads the source.
func (r *Resolver) Forget(code string) {
	r.mu.Lock()
	r.gen++
	r.cache.Remove(code)
	r.mu.Unlock()
}

// Len returns the number of links in the cache.
func (r *Resolver) Len() int { return r.cache.Len() }

// CacheStats returns how many resolves the cache answered and how many
// went to the source, since start.
func (r *Resolver) CacheStats() (hits, misses int64) {
	return r.hits.Load(), r.misses.Load()
}
