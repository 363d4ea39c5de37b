package tracker

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/akti/linkd/emitter"
)

// ErrStopped reports a click offered after the Recorder stopped.
var ErrStopped = errors.New("recorder stopped")

// Committer stores one batch of clicks in one transaction and returns the
// ids of webhook endpoints that got new deliveries.
type Committer interface {
	CommitClicks(ctx context.Context, b Batch) ([]string, error)
}

// Recorder writes clicks to storage with group commit: one writer
// goroutine commits everything queued as soon as the previous commit
// returns, so a waiting click costs one share of a transaction, not one
// transaction. It is safe for concurrent use.
//
// Emitted clicks are durable when Record returns. Counter deltas of other
// visits are kept in memory and committed with the next transaction, at
// most FlushEvery later; a crash loses at most that much of them.
// Delivery attempts (FinishAttempt) ride in the same transactions, so a
// click and a webhook result never wait for two commits.
type Recorder struct {
	store    Committer
	log      *slog.Logger
	onCommit func(endpointIDs []string)
	maxBatch int
	every    time.Duration

	queue chan *request
	stop  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	tallies map[string]*Tally

	pool sync.Pool // of *request, reused by Record
}

// request is an emitted click or, when f is set, a delivery attempt.
type request struct {
	e    Emitted
	f    *Finish
	done chan error
}

// RecorderOptions tune a Recorder. Zero fields take the defaults.
type RecorderOptions struct {
	// MaxBatch caps the emitted clicks in one transaction (1000).
	MaxBatch int
	// FlushEvery is how long counter deltas may wait for a commit (500ms).
	FlushEvery time.Duration
	// OnCommit is called after each commit with the endpoints that got
	// new deliveries.
	OnCommit func(endpointIDs []string)
}

// NewRecorder starts a Recorder writing to store. Stop ends it.
func NewRecorder(store Committer, log *slog.Logger,
	opts RecorderOptions) *Recorder {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 500 * time.Millisecond
	}
	if opts.OnCommit == nil {
		opts.OnCommit = func([]string) {}
	}
	r := &Recorder{
		store:    store,
		log:      log,
		onCommit: opts.OnCommit,
		maxBatch: opts.MaxBatch,
		every:    opts.FlushEvery,
		queue:    make(chan *request, 4*opts.MaxBatch),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		tallies:  make(map[string]*Tally),
	}
	r.pool.New = func() any { return &request{done: make(chan error, 1)} }
	go r.run()
	return r
}

// Record stores an emitted click and returns once it is committed, or
// with the commit's error, ErrStopped, or ctx's error. A click whose wait
// ended with ctx may still be committed.
func (r *Recorder) Record(ctx context.Context, e Emitted) error {
	req := r.pool.Get().(*request)
	req.e = e
	select {
	case r.queue <- req:
	case <-r.stop:
		r.pool.Put(req)
		return ErrStopped
	case <-ctx.Done():
		r.pool.Put(req)
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		req.e = Emitted{}
		r.pool.Put(req)
		return err
	case <-r.done:
		// The writer ended; it answered req only if it committed it.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrStopped
		}
	case <-ctx.Done():
		// The writer still owns req; it is left to the collector.
		return ctx.Err()
	}
}

// FinishAttempt stores a delivery attempt's outcome in the next commit
// and reports whether it changed the endpoint. It implements the
// emitter's storage of attempts, so that attempts share the clicks'
// transactions instead of adding their own.
func (r *Recorder) FinishAttempt(ctx context.Context, d *emitter.Delivery,
	was time.Time, a emitter.Attempt,
	change func(*emitter.Endpoint) bool) (bool, error) {
	f := &Finish{Delivery: d, Was: was, Attempt: a, Change: change}
	req := &request{f: f, done: make(chan error, 1)}
	select {
	case r.queue <- req:
	case <-r.stop:
		return false, ErrStopped
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case err := <-req.done:
		return f.Changed, err
	case <-r.done:
		select {
		case err := <-req.done:
			return f.Changed, err
		default:
			return false, ErrStopped
		}
	}
}

// Count adds one visit to the counters of a link: a lead's click when
// reason is Human, a bot visit otherwise, logged with its reason and agent.
func (r *Recorder) Count(code, campaign, phone string, reason Reason,
	agent string, at time.Time) {
	r.mu.Lock()
	t := r.tallies[code]
	if t == nil {
		t = &Tally{CampaignID: campaign, Phone: phone}
		r.tallies[code] = t
	}
	if at.After(t.Seen) {
		t.Seen = at
	}
	if reason == Human {
		if t.Clicks == 0 || at.Before(t.First) {
			t.First = at
		}
		if at.After(t.Last) {
			t.Last = at
		}
		t.Clicks++
	} else {
		t.BotClicks++
		t.add(VisitRecord{At: at, Reason: reason, Agent: cutAgent(agent)})
	}
	r.mu.Unlock()
}

// Stop commits what is queued and ends the writer. Clicks offered after it
// get ErrStopped.
func (r *Recorder) Stop() {
	close(r.stop)
	<-r.done
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	batch := make([]*request, 0, r.maxBatch)
	for {
		select {
		case req := <-r.queue:
			batch = append(batch, req)
			// Let other handlers queue theirs before collecting.
			runtime.Gosched()
			batch = r.collect(batch)
		case <-tick.C:
		case <-r.stop:
			r.drain(batch[:0])
			return
		}
		r.commit(batch)
		batch = batch[:0]
	}
}

// collect adds what is queued to batch, up to the batch limit.
func (r *Recorder) collect(batch []*request) []*request {
	for len(batch) < r.maxBatch {
		select {
		case req := <-r.queue:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// drain commits everything still queued at stop.
func (r *Recorder) drain(batch []*request) {
	for {
		batch = r.collect(batch[:0])
		r.commit(batch)
		if len(batch) == 0 {
			return
		}
	}
}

func (r *Recorder) commit(batch []*request) {
	var tallies map[string]*Tally
	r.mu.Lock()
	if len(r.tallies) > 0 {
		tallies = r.tallies
		r.tallies = make(map[string]*Tally, len(tallies))
	}
	r.mu.Unlock()
	if len(batch) == 0 && len(tallies) == 0 {
		return
	}

	b := Batch{Tallies: tallies, Emitted: make([]Emitted, 0, len(batch))}
	for _, req := range batch {
		if req.f != nil {
			b.Finishes = append(b.Finishes, req.f)
		} else {
			b.Emitted = append(b.Emitted, req.e)
		}
	}
	woken, err := r.store.CommitClicks(context.Background(), b)
	if err != nil {
		r.restore(tallies)
		if len(batch) == 0 {
			// No caller waits to be told; the counters are kept for the
			// next commit.
			r.log.Warn("commit counters", "error", err)
		}
	}
	for _, req := range batch {
		req.done <- err
	}
	if err == nil && len(woken) > 0 {
		r.onCommit(woken)
	}
}

// restore puts counter deltas of a failed commit back for the next one.
func (r *Recorder) restore(tallies map[string]*Tally) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for code, old := range tallies {
		t := r.tallies[code]
		if t == nil {
			r.tallies[code] = old
			continue
		}
		t.Clicks += old.Clicks
		t.BotClicks += old.BotClicks
		if old.Clicks > 0 && (t.First.IsZero() || old.First.Before(t.First)) {
			t.First = old.First
		}
		if old.Last.After(t.Last) {
			t.Last = old.Last
		}
		if old.Seen.After(t.Seen) {
			t.Seen = old.Seen
		}
		for _, v := range old.Recent {
			t.add(v)
		}
	}
}
