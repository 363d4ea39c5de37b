package tracker

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/akti/linkd/shortener"
)

// Markers reads the stored dedup marker of a link: when its last click
// event happened, or the zero time.
type Markers interface {
	LastEvent(ctx context.Context, l *shortener.Link) (time.Time, error)
}

// MarkerLister lists the stored dedup markers later than after, each
// with its link's code, for Window.Load.
type MarkerLister interface {
	EachMarker(ctx context.Context, after time.Time,
		fn func(code string, at time.Time)) error
}

// Window decides which clicks on a link emit an event: the first click
// does, and clicks until Size after the last emitted event do not. It is
// safe for concurrent use; concurrent clicks on one link emit once.
//
// Once loaded, the window holds in memory the marker (last event time)
// of every link whose window is open, so a click on a link it does not
// hold emits without a storage read. Markers live in two generations:
// new ones go to the current one, which becomes the previous one once it
// has spanned Size; the previous one is dropped whole, with nothing in
// it still open, when the next turn comes. So expiry costs nothing per
// click. When more links are within their windows than the window holds,
// it drops the previous generation early and, until every marker dropped
// that way has expired, reads the links it misses from Markers. Before
// Load, it reads them always.
type Window struct {
	size     int64 // nanoseconds
	capacity int
	markers  Markers

	mu        sync.Mutex
	cur, prev generation
	curStart  int64 // when cur became current, Unix nanoseconds
	// readUntil is when the links missing from memory stop having
	// possibly open markers in storage: the end of the window of the
	// newest marker dropped for room, or never before Load.
	readUntil int64

	reads atomic.Int64 // clicks whose marker was read from storage
}

// NewWindow returns a window of size that holds up to capacity links in
// memory and reads the others from markers.
func NewWindow(size time.Duration, capacity int, markers Markers) (*Window,
	error) {
	if size <= 0 || capacity <= 0 {
		return nil, fmt.Errorf("dedup window of %v and %d links: both must be "+
			"positive", size, capacity)
	}
	return &Window{size: int64(size), capacity: capacity, markers: markers,
		cur: newGeneration(), prev: newGeneration(),
		readUntil: math.MaxInt64}, nil
}

// Load fills the window with the stored markers whose window is open at
// now, after which a link it does not hold has none open. It is meant
// for start-up, before the first click; clicks meanwhile wait for it.
func (w *Window) Load(ctx context.Context, now time.Time,
	stored MarkerLister) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := now.UnixNano()
	w.readUntil = math.MinInt64
	w.curStart = n
	err := stored.EachMarker(ctx, time.Unix(0, n-w.size),
		func(code string, at time.Time) {
			if t := at.UnixNano(); t > w.last(code) {
				w.put(code, t, n)
			}
		})
	if err != nil {
		w.readUntil = math.MaxInt64
	}
	return err
}

// Admit reports whether a click on l at now emits an event. When it
// does, now becomes the link's last event time and prev is what it was
// before, for Undo. Only a failing marker read returns an error.
func (w *Window) Admit(ctx context.Context, l *shortener.Link,
	now time.Time) (emit bool, prev time.Time, err error) {
	code, n := l.Code, now.UnixNano()
	w.mu.Lock()
	w.turn(n)
	if last := w.last(code); last != 0 || n >= w.readUntil {
		emit, prev = w.decide(code, last, n)
		w.mu.Unlock()
		return emit, prev, nil
	}
	w.mu.Unlock()

	// Maybe dropped for room, or never loaded: the stored marker, read
	// without the lock.
	w.reads.Add(1)
	stored, err := w.markers.LastEvent(ctx, l)
	if err != nil {
		return false, time.Time{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Another click may have set a newer one meanwhile.
	last := w.last(code)
	if !stored.IsZero() && stored.UnixNano() > last {
		last = stored.UnixNano()
		w.put(code, last, n)
	}
	emit, prev = w.decide(code, last, n)
	return emit, prev, nil
}

// decide reports whether a click at now emits, given the link's last
// event time (0 for none), and makes now the last one if so. w.mu is
// held.
func (w *Window) decide(code string, last, now int64) (bool, time.Time) {
	if last != 0 && now < w.closes(last) {
		return false, time.Time{}
	}
	w.put(code, now, now)
	if last == 0 {
		return true, time.Time{}
	}
	return true, time.Unix(0, last)
}

// Undo restores the last event time of code to prev after the event
// admitted at at could not be stored, unless a later click changed it.
func (w *Window) Undo(code string, at, prev time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last(code) != at.UnixNano() {
		return
	}
	w.cur.del(code)
	w.prev.del(code)
	if !prev.IsZero() {
		w.put(code, prev.UnixNano(), at.UnixNano())
	}
}

// Forget drops what the window knows of code, for a deleted link whose
// code may be given to a new one.
func (w *Window) Forget(code string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cur.del(code)
	w.prev.del(code)
}

// Len returns how many links the window holds in memory.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur.len() + w.prev.len()
}

// Reads returns how many clicks have had their link's marker read from
// storage: before Load, or while markers dropped for room may be open.
func (w *Window) Reads() int64 { return w.reads.Load() }

// last returns the last event time of code held in memory, or 0. w.mu is
// held.
func (w *Window) last(code string) int64 {
	if at, ok := w.cur.get(code); ok {
		return at
	}
	at, _ := w.prev.get(code)
	return at
}

// put makes at the last event time of code, making room first, at now,
// if the window is full. w.mu is held.
func (w *Window) put(code string, at, now int64) {
	if _, ok := w.cur.get(code); !ok {
		w.prev.del(code)
		if w.cur.len()+w.prev.len() >= w.capacity {
			w.makeRoom(now)
		}
	}
	w.cur.put(code, at)
}

// makeRoom drops the previous generation to make room for a marker
// added at now, and turns the current one into it if that is not
// enough. Links dropped this way are read from storage until their
// windows have closed. w.mu is held.
func (w *Window) makeRoom(now int64) {
	if w.prev.len() > 0 {
		w.readUntil = max(w.readUntil, w.closes(w.prev.newest))
		w.prev = newGeneration()
	}
	if w.cur.len() >= w.capacity {
		w.prev, w.cur, w.curStart = w.cur, newGeneration(), now
	}
}

// turn makes the current generation the previous one once it has spanned
// a window and everything in the previous one has closed, which it then
// drops. A clock set back delays the turn rather than drop an open
// marker. w.mu is held.
func (w *Window) turn(now int64) {
	if now < w.closes(w.curStart) || now < w.closes(w.prev.newest) {
		return
	}
	w.prev, w.cur, w.curStart = w.cur, newGeneration(), now
}

// closes returns when a window opened at at closes: at+Size, or the
// latest time there is for a window too long to add.
func (w *Window) closes(at int64) int64 {
	if at > math.MaxInt64-w.size {
		return math.MaxInt64
	}
	return at + w.size
}

// A generation holds last event times, Unix nanoseconds, by code: codes
// that pack into a number (every generated one) in a map the collector
// need not scan, the others by string.
type generation struct {
	packed map[uint64]int64
	other  map[string]int64
	newest int64
}

func newGeneration() generation {
	return generation{packed: make(map[uint64]int64),
		other: make(map[string]int64), newest: math.MinInt64 / 2}
}

func (g *generation) get(code string) (int64, bool) {
	if k, ok := packCode(code); ok {
		at, ok := g.packed[k]
		return at, ok
	}
	at, ok := g.other[code]
	return at, ok
}

func (g *generation) put(code string, at int64) {
	if k, ok := packCode(code); ok {
		g.packed[k] = at
	} else {
		g.other[code] = at
	}
	g.newest = max(g.newest, at)
}

func (g *generation) del(code string) {
	if k, ok := packCode(code); ok {
		delete(g.packed, k)
	} else {
		delete(g.other, code)
	}
}

func (g *generation) len() int { return len(g.packed) + len(g.other) }

// packCode returns code as a number, one to one, if it has at most 10
// characters of [A-Za-z0-9_-]: six bits each, and the length in the top
// four.
func packCode(code string) (uint64, bool) {
	if len(code) > 10 {
		return 0, false
	}
	k := uint64(len(code)) << 60
	for i := 0; i < len(code); i++ {
		v := codeValue[code[i]]
		if v == 0 {
			return 0, false
		}
		k |= uint64(v-1) << (6 * i)
	}
	return k, true
}

// codeValue maps each character of [A-Za-z0-9_-] to one of 1 to 64, and
// every other byte to 0.
var codeValue = func() (t [256]uint8) {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" +
		"0123456789_-"
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = uint8(i + 1)
	}
	return t
}()
