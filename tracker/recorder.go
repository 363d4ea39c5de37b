package tracker

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
)

// ErrStopped reports a click offered after the Recorder stopped.
var ErrStopped = errors.New("recorder stopped")

// Committer stores one batch of clicks in one transaction and returns the
// ids of webhook endpoints that got new deliveries. Its markers are those
// of the links' stored records, which the Recorder's flushes update.
type Committer interface {
	Markers
	CommitClicks(ctx context.Context, b Batch) ([]string, error)
}

// Recorder writes clicks to storage with group commit: one writer
// goroutine commits everything queued as soon as the previous commit
// returns, so a waiting click costs one share of a transaction, not one
// transaction. It is safe for concurrent use.
//
// Emitted clicks are durable when Record returns: their event and a
// click journal record are committed. Their counters and dedup markers,
// and the counter deltas of the other visits, are tallied in memory and
// flushed every FlushEvery, a key-ordered chunk of links per commit, so
// that a link clicked many times between two flushes is written once and
// neighbouring links share their pages' writes. Until its flush, a
// link's newer marker is read from the Recorder (LastEvent); a crash
// loses the pending deltas of visits that emitted nothing, while storage
// replays the journal for the emitted ones. Delivery attempts
// (FinishAttempt) ride in the same transactions, so a click and a
// webhook result never wait for two commits.
type Recorder struct {
	store    Committer
	log      *slog.Logger
	onCommit func(endpointIDs []string)
	maxBatch int
	chunk    int
	every    time.Duration

	queue    chan *request
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu      sync.Mutex
	tallies map[string]*Tally // since the flush under way began
	flush   *flush            // nil between flushes
	seq     uint64            // the newest journal record tallied
	applied uint64            // the newest journal record flushed

	pool sync.Pool // of *request, reused by Record
}

// flush is the tallies being written, a chunk of codes per commit in key
// order. Nothing changes them meanwhile: new visits go to the Recorder's
// next tallies.
type flush struct {
	tallies map[string]*Tally
	order   []string
	next    int    // the first code of order not committed yet
	through uint64 // the newest journal record in tallies
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
	// FlushEvery is how long counter deltas wait before their flush
	// begins (1s).
	FlushEvery time.Duration
	// FlushChunk caps the links whose counters one commit writes (256).
	FlushChunk int
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
		opts.FlushEvery = time.Second
	}
	if opts.FlushChunk <= 0 {
		opts.FlushChunk = 256
	}
	if opts.OnCommit == nil {
		opts.OnCommit = func([]string) {}
	}
	r := &Recorder{
		store:    store,
		log:      log,
		onCommit: opts.OnCommit,
		maxBatch: opts.MaxBatch,
		chunk:    opts.FlushChunk,
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

// Count adds one visit to the counters of l: a lead's click when reason
// is Human, a bot visit otherwise, logged with its reason and agent.
func (r *Recorder) Count(l *shortener.Link, reason Reason, agent string,
	at time.Time) {
	r.mu.Lock()
	t := r.tally(l.Code, l.CampaignID, l.Phone, l.CreatedAt)
	if reason == Human {
		t.addClick(at)
	} else {
		t.addBot(VisitRecord{At: at, Reason: reason, Agent: cutAgent(agent)})
	}
	r.mu.Unlock()
}

// LastEvent returns when the link's last click event happened: the
// newest of what the Recorder has not flushed yet and what is stored. It
// implements Markers for the Window.
func (r *Recorder) LastEvent(ctx context.Context,
	l *shortener.Link) (time.Time, error) {
	code := l.Code
	// Memory first: a flush drops its tallies only after their commit,
	// so what is not found here is stored by the time it is read.
	var last time.Time
	r.mu.Lock()
	if t := r.tallies[code]; t != nil {
		last = t.LastEvent
	}
	if r.flush != nil {
		if t := r.flush.tallies[code]; t != nil && t.LastEvent.After(last) {
			last = t.LastEvent
		}
	}
	r.mu.Unlock()
	stored, err := r.store.LastEvent(ctx, l)
	if stored.After(last) {
		last = stored
	}
	return last, err
}

// Forget drops the unflushed counters of code, for a deleted link whose
// code may be given to a new one.
func (r *Recorder) Forget(code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tallies, code)
	if r.flush != nil {
		delete(r.flush.tallies, code)
	}
}

// tally returns the unflushed tally of code, new if need be. r.mu is held.
func (r *Recorder) tally(code, campaign, phone string,
	created time.Time) *Tally {
	t := r.tallies[code]
	if t == nil {
		t = &Tally{CampaignID: campaign, Phone: phone, Created: created}
		r.tallies[code] = t
	}
	return t
}

// emitted tallies a committed emitted click. r.mu is held.
func (r *Recorder) emitted(e *Emitted) {
	r.tally(e.Code, e.CampaignID, e.Phone, e.Created).AddEvent(e.At, e.Seq)
	r.seq = max(r.seq, e.Seq)
}

// Stop commits what is queued, flushes every tally and ends the writer.
// Clicks offered after it get ErrStopped. It may be called more than once.
func (r *Recorder) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
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
			r.startFlush()
		case <-r.stop:
			r.drain(batch[:0])
			return
		}
		err := r.commit(batch)
		batch = batch[:0]
		// A flush goes on chunk after chunk, with whatever clicks queue
		// meanwhile; a failing store waits for the next tick or click.
		for err == nil && r.flushing() {
			select {
			case <-r.stop:
				r.drain(batch)
				return
			default:
			}
			batch = r.collect(batch)
			err = r.commit(batch)
			batch = batch[:0]
		}
	}
}

// startFlush begins flushing the tallies, unless a flush is under way.
// Their order is that of the links' counters in storage, by creation
// time and then code, so that each chunk's links share pages.
func (r *Recorder) startFlush() {
	type link struct {
		created int64
		code    string
	}
	r.mu.Lock()
	if r.flush != nil || len(r.tallies) == 0 {
		r.mu.Unlock()
		return
	}
	f := &flush{tallies: r.tallies, through: r.seq}
	links := make([]link, 0, len(f.tallies))
	for code, t := range f.tallies {
		links = append(links, link{t.Created.UnixNano(), code})
	}
	r.flush, r.tallies = f, make(map[string]*Tally, len(f.tallies))
	r.mu.Unlock()

	// Only the writer reads the order, and it is the caller.
	slices.SortFunc(links, func(a, b link) int {
		return cmp.Or(cmp.Compare(a.created, b.created),
			strings.Compare(a.code, b.code))
	})
	f.order = make([]string, len(links))
	for i, l := range links {
		f.order[i] = l.code
	}
}

func (r *Recorder) flushing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flush != nil
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

// drain commits everything still queued at stop and flushes every tally,
// until a commit fails.
func (r *Recorder) drain(batch []*request) {
	for {
		batch = r.collect(batch)
		r.startFlush()
		if len(batch) == 0 && !r.flushing() {
			return
		}
		if err := r.commit(batch); err != nil && len(batch) == 0 {
			r.log.Warn("counters not flushed at stop", "error", err)
			return
		}
		batch = batch[:0]
	}
}

// commit stores batch with the next chunk of the flush under way, and
// answers the batch's callers.
func (r *Recorder) commit(batch []*request) error {
	b := Batch{Emitted: make([]Emitted, 0, len(batch))}
	var chunk int
	r.mu.Lock()
	if f := r.flush; f != nil {
		end := min(f.next+r.chunk, len(f.order))
		b.Tallies = make(map[string]*Tally, end-f.next)
		for _, code := range f.order[f.next:end] {
			if t := f.tallies[code]; t != nil {
				b.Tallies[code] = t
			}
		}
		chunk = end - f.next
	}
	b.JournalThrough = r.applied
	r.mu.Unlock()
	if len(batch) == 0 && chunk == 0 {
		return nil
	}
	for _, req := range batch {
		if req.f != nil {
			b.Finishes = append(b.Finishes, req.f)
		} else {
			b.Emitted = append(b.Emitted, req.e)
		}
	}

	woken, err := r.store.CommitClicks(context.Background(), b)
	if err == nil {
		r.mu.Lock()
		if f := r.flush; f != nil {
			if f.next += chunk; f.next == len(f.order) {
				r.flush, r.applied = nil, f.through
			}
		}
		for i := range b.Emitted {
			if b.Emitted[i].Seq > 0 {
				r.emitted(&b.Emitted[i])
			}
		}
		r.mu.Unlock()
	} else if len(batch) == 0 {
		// No caller waits to be told; the chunk is tried again.
		r.log.Warn("commit counters", "error", err)
	}
	for _, req := range batch {
		req.done <- err
	}
	if err == nil && len(woken) > 0 {
		r.onCommit(woken)
	}
	return err
}
