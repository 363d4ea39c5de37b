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
// of the links' stored records, which the Recorder's folds update.
type Committer interface {
	Markers
	CommitClicks(ctx context.Context, b *Batch) ([]string, error)
}

// Recorder writes clicks to storage with group commit: one writer
// goroutine commits everything queued as soon as the previous commit
// returns, so a waiting click costs one share of a transaction, not one
// transaction. It is safe for concurrent use.
//
// Emitted clicks are durable when Record returns: their event and a
// click journal record are committed. Their counters and dedup markers,
// and the counter deltas of the other visits, are tallied in memory and
// reach the links' counters in a fold, a key-ordered chunk of links per
// commit, so that a link clicked many times between two folds is written
// once and neighbouring links share their pages' writes. Under load,
// folds are FoldEvery apart, to gather many clicks per page; when few
// links wait or visits stop, one follows at the next tick (LogEvery).
// Until then, the deltas of visits that emitted nothing are journaled
// every LogEvery, in records of many links that a crash replays, so a
// crash loses at most the last LogEvery of them. Until its fold, a
// link's newer marker is read from the Recorder (LastEvent). Delivery
// attempts (FinishAttempt) ride in the same transactions, so a click and
// a webhook result never wait for two commits.
type Recorder struct {
	store     Committer
	log       *slog.Logger
	onCommit  func(endpointIDs []string)
	maxBatch  int
	chunk     int
	logChunk  int
	every     time.Duration
	foldEvery time.Duration

	queue    chan *request
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu      sync.Mutex
	fresh   map[string]*Tally // counted, not journaled yet
	logging *step             // fresh tallies being journaled
	pending map[string]*Tally // journaled, not folded yet
	fold    *step             // tallies being folded
	seq     uint64            // the newest journal record in pending
	applied uint64            // the newest journal record folded
	folded  time.Time         // when the last fold began
	counted bool              // whether a visit came since the last tick

	pool sync.Pool // of *request, reused by Record
}

// step is a set of tallies being written, a chunk of codes per commit in
// order. Nothing adds to them meanwhile: new visits go to other tallies.
// A chunk's tallies leave the step once committed.
type step struct {
	tallies map[string]*Tally
	order   []string
	next    int    // the first code of order not committed yet
	through uint64 // of a fold: the newest journal record in tallies
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
	// LogEvery is how often the counter deltas of visits that emitted
	// nothing are journaled, and how often a fold may begin (1s).
	LogEvery time.Duration
	// FoldEvery is how far apart folds are while more links wait than
	// one commit folds (10s).
	FoldEvery time.Duration
	// FoldChunk caps the links whose counters one commit writes (256).
	FoldChunk int
	// LogChunk caps the links of one journaled record of deltas (512).
	LogChunk int
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
	if opts.LogEvery <= 0 {
		opts.LogEvery = time.Second
	}
	if opts.FoldEvery <= 0 {
		opts.FoldEvery = 10 * time.Second
	}
	if opts.FoldChunk <= 0 {
		opts.FoldChunk = 256
	}
	if opts.LogChunk <= 0 {
		opts.LogChunk = 512
	}
	if opts.OnCommit == nil {
		opts.OnCommit = func([]string) {}
	}
	r := &Recorder{
		store:     store,
		log:       log,
		onCommit:  opts.OnCommit,
		maxBatch:  opts.MaxBatch,
		chunk:     opts.FoldChunk,
		logChunk:  opts.LogChunk,
		every:     opts.LogEvery,
		foldEvery: opts.FoldEvery,
		queue:     make(chan *request, 4*opts.MaxBatch),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		fresh:     make(map[string]*Tally),
		pending:   make(map[string]*Tally),
		folded:    time.Now(),
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
	r.counted = true
	t := tally(r.fresh, l.Code, l.CampaignID, l.Phone, l.CreatedAt)
	if reason == Human {
		t.addClick(at)
	} else {
		t.addBot(VisitRecord{At: at, Reason: reason, Agent: cutAgent(agent)})
	}
	r.mu.Unlock()
}

// LastEvent returns when the link's last click event happened: the
// newest of what the Recorder has not folded yet and what is stored. It
// implements Markers for the Window.
func (r *Recorder) LastEvent(ctx context.Context,
	l *shortener.Link) (time.Time, error) {
	// Memory first: a fold drops its tallies only after their commit, so
	// what is not found here is stored by the time it is read. Only
	// emitted clicks, which go to pending, move the marker.
	var last time.Time
	mine := func(t *Tally) bool {
		return t != nil && t.Created.Equal(l.CreatedAt) &&
			t.LastEvent.After(last)
	}
	r.mu.Lock()
	if t := r.pending[l.Code]; mine(t) {
		last = t.LastEvent
	}
	if r.fold != nil {
		if t := r.fold.tallies[l.Code]; mine(t) {
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

// Forget drops the unfolded counters of code, for a deleted link whose
// code may be given to a new one.
func (r *Recorder) Forget(code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.fresh, code)
	delete(r.pending, code)
	for _, s := range []*step{r.logging, r.fold} {
		if s != nil {
			delete(s.tallies, code)
		}
	}
}

// Unfolded reports how many links have counter deltas that have not
// reached their counters yet: journaled or not.
func (r *Recorder) Unfolded() (fresh, journaled int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fresh = len(r.fresh)
	if r.logging != nil {
		fresh += len(r.logging.tallies)
	}
	journaled = len(r.pending)
	if r.fold != nil {
		journaled += len(r.fold.tallies)
	}
	return fresh, journaled
}

// tally returns the tally of code in m, new if need be. r.mu is held.
func tally(m map[string]*Tally, code, campaign, phone string,
	created time.Time) *Tally {
	t := m[code]
	if t == nil {
		t = &Tally{CampaignID: campaign, Phone: phone, Created: created}
		m[code] = t
	}
	return t
}

// emitted tallies a committed emitted click, which its journal record
// makes durable. r.mu is held.
func (r *Recorder) emitted(e *Emitted) {
	t := r.pending[e.Code]
	if t == nil || e.Created.After(t.Created) {
		t = &Tally{CampaignID: e.CampaignID, Phone: e.Phone,
			Created: e.Created}
		r.pending[e.Code] = t
	}
	t.AddEvent(e.At, e.Seq)
	r.seq = max(r.seq, e.Seq)
	r.counted = true
}

// journaled adds t, the tally of code, to pending once it is durable.
// r.mu is held.
func (r *Recorder) journaled(code string, t *Tally) {
	r.seq = max(r.seq, t.Seq)
	if p := r.pending[code]; p != nil && !t.Created.After(p.Created) {
		p.Merge(t)
		return
	}
	// New, or a link that took the code of a deleted one.
	r.pending[code] = t
}

// Stop commits what is queued, folds every tally and ends the writer.
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
		case now := <-tick.C:
			r.startSteps(now, false)
		case <-r.stop:
			r.drain(batch[:0])
			return
		}
		err := r.commit(batch)
		batch = batch[:0]
		// Journaling and folding go on chunk after chunk, with whatever
		// clicks queue meanwhile; a failing store waits for the next tick
		// or click.
		for err == nil && r.busy() {
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

// startSteps begins, unless they are under way, a fold and the
// journaling of fresh tallies. A fold begins when few links wait, which
// it takes all of, fresh ones too; when it is due, or no visit came since
// the last tick, with the journaled ones; and at stop (all), with every
// one.
func (r *Recorder) startSteps(now time.Time, all bool) {
	r.mu.Lock()
	var fold, logging []link
	waiting := len(r.fresh) + len(r.pending)
	small := waiting <= r.chunk
	due := len(r.pending) > 0 &&
		(now.Sub(r.folded) >= r.foldEvery || !r.counted)
	r.counted = false
	if r.fold == nil && waiting > 0 && (all || small || due) {
		if all || small {
			for code, t := range r.fresh {
				r.journaled(code, t)
			}
			r.fresh = make(map[string]*Tally)
		}
		r.fold = &step{tallies: r.pending, through: r.seq}
		r.pending, r.folded = make(map[string]*Tally), now
		fold = links(r.fold.tallies)
	}
	if r.logging == nil && len(r.fresh) > 0 {
		r.logging = &step{tallies: r.fresh}
		r.fresh = make(map[string]*Tally)
		logging = links(r.logging.tallies)
	}
	r.mu.Unlock()

	// Only the writer reads the orders, and it is the caller. A fold's
	// order is that of the links' counters in storage, by creation time
	// and then code, so that each chunk's links share pages.
	if fold != nil {
		slices.SortFunc(fold, func(a, b link) int {
			return cmp.Or(cmp.Compare(a.created, b.created),
				strings.Compare(a.code, b.code))
		})
		r.fold.order = codes(fold)
	}
	if logging != nil {
		r.logging.order = codes(logging)
	}
}

// link names a tally of a step.
type link struct {
	created int64
	code    string
}

func links(tallies map[string]*Tally) []link {
	ls := make([]link, 0, len(tallies))
	for code, t := range tallies {
		ls = append(ls, link{t.Created.UnixNano(), code})
	}
	return ls
}

func codes(ls []link) []string {
	cs := make([]string, len(ls))
	for i, l := range ls {
		cs[i] = l.code
	}
	return cs
}

// busy reports whether a step is under way.
func (r *Recorder) busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fold != nil || r.logging != nil
}

// idle reports whether every tally is folded.
func (r *Recorder) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fold == nil && r.logging == nil && len(r.fresh) == 0 &&
		len(r.pending) == 0
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

// drain commits everything still queued at stop and folds every tally,
// until a commit fails.
func (r *Recorder) drain(batch []*request) {
	for {
		batch = r.collect(batch)
		r.startSteps(time.Now(), true)
		if len(batch) == 0 && r.idle() {
			return
		}
		if err := r.commit(batch); err != nil && len(batch) == 0 {
			r.log.Warn("counters not folded at stop", "error", err)
			return
		}
		batch = batch[:0]
	}
}

// next returns the tallies of s's next chunk of n codes, and how many
// codes it spans.
func (s *step) nextChunk(n int) (map[string]*Tally, int) {
	if s == nil {
		return nil, 0
	}
	end := min(s.next+n, len(s.order))
	m := make(map[string]*Tally, end-s.next)
	for _, code := range s.order[s.next:end] {
		if t := s.tallies[code]; t != nil {
			m[code] = t
		}
	}
	return m, end - s.next
}

// committed drops the chunk of n codes from s and reports whether s is
// done.
func (s *step) committed(n int) bool {
	for _, code := range s.order[s.next : s.next+n] {
		delete(s.tallies, code)
	}
	s.next += n
	return s.next == len(s.order)
}

// commit stores batch with the next chunks of the steps under way, and
// answers the batch's callers.
func (r *Recorder) commit(batch []*request) error {
	b := Batch{Emitted: make([]Emitted, 0, len(batch))}
	var folding, logging int
	r.mu.Lock()
	b.Tallies, folding = r.fold.nextChunk(r.chunk)
	b.Deltas, logging = r.logging.nextChunk(r.logChunk)
	b.JournalThrough = r.applied
	r.mu.Unlock()
	if len(batch) == 0 && folding == 0 && logging == 0 {
		return nil
	}
	for _, req := range batch {
		if req.f != nil {
			b.Finishes = append(b.Finishes, req.f)
		} else {
			b.Emitted = append(b.Emitted, req.e)
		}
	}

	woken, err := r.store.CommitClicks(context.Background(), &b)
	if err == nil {
		r.mu.Lock()
		if f := r.fold; folding > 0 && f.committed(folding) {
			r.fold, r.applied = nil, f.through
		}
		if l := r.logging; logging > 0 {
			for code, t := range b.Deltas {
				// Forget may have dropped it meanwhile.
				if l.tallies[code] == t {
					t.Seq = b.DeltaSeq
					r.journaled(code, t)
				}
			}
			if l.committed(logging) {
				r.logging = nil
			}
		}
		for i := range b.Emitted {
			if e := &b.Emitted[i]; e.Seq > 0 {
				r.emitted(e)
			}
		}
		r.mu.Unlock()
	} else if len(batch) == 0 {
		// No caller waits to be told; the chunks are tried again.
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
