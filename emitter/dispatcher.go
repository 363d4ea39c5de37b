package emitter

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Store is what the Dispatcher needs from storage.
type Store interface {
	// Endpoints returns every registered endpoint.
	Endpoints(ctx context.Context) ([]*Endpoint, error)
	// Due returns up to limit pending jobs of an endpoint due at now,
	// earliest first, skipping ids skip reports, and the time of the
	// next later one (zero for none).
	Due(ctx context.Context, endpointID string, now time.Time, limit int,
		skip func(id string) bool) ([]Job, time.Time, error)
	// FinishAttempt stores an attempt, the delivery's new state (its
	// schedule entry was at was) and epChange's change of its endpoint,
	// and reports whether epChange changed it.
	FinishAttempt(ctx context.Context, d *Delivery, was time.Time,
		a Attempt, epChange func(*Endpoint) bool) (bool, error)
}

// Options configure a Dispatcher. Zero fields take the defaults given.
type Options struct {
	Timeout      time.Duration // one attempt's limit (10s)
	RetryInitial time.Duration // first retry delay (5s)
	RetryMaxAge  time.Duration // give up this long after the delivery is created (72h)
	PerEndpoint  int           // concurrent attempts per endpoint (16)
	MaxInFlight  int           // concurrent attempts in all (1024)
	Grace        time.Duration // how long Run waits for attempts at stop (10s)
	UserAgent    string        // linkd-webhooks/<version>
	Guard        *Guard        // outbound address guard
	Now          func() time.Time
	Log          *slog.Logger
}

func (o *Options) defaults() {
	setDur(&o.Timeout, 10*time.Second)
	setDur(&o.RetryInitial, 5*time.Second)
	setDur(&o.RetryMaxAge, 72*time.Hour)
	setDur(&o.Grace, 10*time.Second)
	if o.PerEndpoint <= 0 {
		o.PerEndpoint = 16
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1024
	}
	if o.UserAgent == "" {
		o.UserAgent = "linkd-webhooks/dev"
	}
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Dispatcher delivers pending deliveries to their endpoints. Each endpoint
// has its own lane with its own concurrency, so a slow or dead endpoint
// never delays another; a global limit bounds the attempts in flight. It
// is safe for concurrent use.
type Dispatcher struct {
	store  Store
	opts   Options
	client *http.Client
	slots  chan struct{}
	reload chan struct{}
	counts counters

	mu    sync.Mutex
	lanes map[string]*lane
	wg    sync.WaitGroup // attempts in flight
}

// NewDispatcher returns a Dispatcher over store; Run starts it.
func NewDispatcher(store Store, opts Options) *Dispatcher {
	opts.defaults()
	return &Dispatcher{
		store:  store,
		opts:   opts,
		client: newClient(opts),
		slots:  make(chan struct{}, opts.MaxInFlight),
		reload: make(chan struct{}, 1),
		lanes:  make(map[string]*lane),
	}
}

// Run delivers until ctx ends, then waits up to the grace period for the
// attempts in flight; the rest stays pending in storage.
func (d *Dispatcher) Run(ctx context.Context) error {
	laneCtx, cancel := context.WithCancel(context.Background())
	var lanes sync.WaitGroup
	defer func() {
		cancel()
		lanes.Wait()
		d.waitInFlight()
	}()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		if err := d.syncLanes(laneCtx, &lanes); err != nil {
			d.opts.Log.Warn("load endpoints", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.reload:
		case <-tick.C:
		}
	}
}

func (d *Dispatcher) waitInFlight() {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.Grace):
		d.opts.Log.Warn("attempts still in flight at stop")
	}
}

// Reload makes the Dispatcher read the endpoints again; call it after
// registering, changing or deleting one.
func (d *Dispatcher) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// Wake tells the lanes of the endpoints with ids that they have new work.
func (d *Dispatcher) Wake(ids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if l := d.lanes[id]; l != nil {
			l.signal()
		}
	}
}

// syncLanes starts a lane for each new endpoint, updates the others and
// stops those of deleted endpoints.
func (d *Dispatcher) syncLanes(ctx context.Context, wg *sync.WaitGroup) error {
	eps, err := d.store.Endpoints(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := make(map[string]bool, len(eps))
	for _, ep := range eps {
		seen[ep.ID] = true
		if l := d.lanes[ep.ID]; l != nil {
			l.ep.Store(ep)
			l.signal()
			continue
		}
		l := newLane(d, ep)
		d.lanes[ep.ID] = l
		wg.Add(1)
		go func() { defer wg.Done(); l.run(ctx) }()
	}
	for id, l := range d.lanes {
		if !seen[id] {
			l.stop()
			delete(d.lanes, id)
		}
	}
	return nil
}
