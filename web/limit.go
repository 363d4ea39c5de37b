package web

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// MissLimiter rate-limits requests for unknown codes per client address,
// so that codes, which identify leads, cannot be enumerated quickly. It is
// safe for concurrent use. It remembers the most recent clients in an
// LRU; a client pushed out starts again with a full bucket.
type MissLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	clients *lru.Cache[string, *rate.Limiter]
}

// NewMissLimiter allows each client burst misses at once and one more
// every every, tracking up to clients clients.
func NewMissLimiter(every time.Duration, burst, clients int) (*MissLimiter, error) {
	c, err := lru.New[string, *rate.Limiter](clients)
	if err != nil {
		return nil, err
	}
	return &MissLimiter{every: every, burst: burst, clients: c}, nil
}

// Allow reports whether client may have one more miss now.
func (m *MissLimiter) Allow(client string) bool {
	client = limitKey(client)
	m.mu.Lock()
	l, ok := m.clients.Get(client)
	if !ok {
		l = rate.NewLimiter(rate.Every(m.every), m.burst)
		m.clients.Add(client, l)
	}
	m.mu.Unlock()
	return l.Allow()
}

// RetryAfter is how long a limited client should wait, in whole seconds.
func (m *MissLimiter) RetryAfter() string {
	return strconv.Itoa(int(max(m.every/time.Second, 1)))
}

// clientAddr returns the address a request came from: the connection's
// peer, or with trustForwarded the nearest address that the proxy in
// front appended to X-Forwarded-For.
func clientAddr(r *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return host
}

// limitKey is the bucket a client address shares: its /64 for IPv6,
// where one subscriber holds a whole /64, the address itself otherwise.
func limitKey(client string) string {
	ip, err := netip.ParseAddr(client)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return client
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return client
	}
	return p.String()
}
