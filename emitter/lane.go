package emitter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// idlePoll bounds how long a lane sleeps without a signal.
const idlePoll = time.Minute

// lane delivers the jobs of one endpoint, at most PerEndpoint at a time.
type lane struct {
	d     *Dispatcher
	id    string
	ep    atomic.Pointer[Endpoint]
	wake  chan struct{}
	quit  chan struct{}
	slots chan struct{}

	// flying holds the deliveries in flight (-1) and those whose attempt
	// was stored at finish number n (n). A scan of the due index that
	// began before finish n may still see such a delivery as due, so it
	// is skipped until a later scan begins.
	mu       sync.Mutex
	flying   map[string]int64
	finishes int64
	scanFrom int64
}

func newLane(d *Dispatcher, ep *Endpoint) *lane {
	l := &lane{
		d:      d,
		id:     ep.ID,
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		slots:  make(chan struct{}, d.opts.PerEndpoint),
		flying: make(map[string]int64),
	}
	l.ep.Store(ep)
	return l
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) stop() { close(l.quit) }

// beginScan marks the start of a scan of the due index and forgets the
// deliveries finished before it.
func (l *lane) beginScan() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, n := range l.flying {
		if n >= 0 && n <= l.scanFrom {
			delete(l.flying, id)
		}
	}
	l.scanFrom = l.finishes
}

// skip reports whether the scan begun last may hand out id: not while it
// is in flight, nor when its attempt was stored after the scan began.
func (l *lane) skip(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.flying[id]
	return ok && (n < 0 || n > l.scanFrom)
}

func (l *lane) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := l.dispatch(ctx)
		if wait < 0 {
			wait = idlePoll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-l.quit:
			return
		case <-l.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// dispatch starts attempts for due jobs while slots are free and returns
// how long to sleep before looking again (negative: until signalled).
func (l *lane) dispatch(ctx context.Context) time.Duration {
	for {
		ep := l.ep.Load()
		free := cap(l.slots) - len(l.slots)
		if ep.Disabled || free == 0 {
			return -1
		}
		now := l.d.opts.Now()
		l.beginScan()
		jobs, next, err := l.d.store.Due(ctx, l.id, now, free, l.skip)
		if err != nil {
			l.d.opts.Log.Warn("read due deliveries",
				"endpoint_id", l.id, "error", err)
			return time.Second
		}
		for _, j := range jobs {
			l.start(ep, j)
		}
		if len(jobs) < free {
			if next.IsZero() {
				return -1
			}
			return max(next.Sub(now), time.Millisecond)
		}
	}
}

func (l *lane) start(ep *Endpoint, j Job) {
	l.slots <- struct{}{}
	l.mu.Lock()
	l.flying[j.Delivery.ID] = -1
	l.mu.Unlock()
	l.d.wg.Add(1)
	go func() {
		defer l.d.wg.Done()
		l.d.attempt(ep, j, func() { <-l.slots; l.signal() })
		l.mu.Lock()
		l.finishes++
		l.flying[j.Delivery.ID] = l.finishes
		l.mu.Unlock()
		l.signal()
	}()
}
