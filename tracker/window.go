package tracker

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/akti/linkd/shortener"
)

// Markers reads the stored dedup marker of a link: when its last click
// event happened, or the zero time.
type Markers interface {
	LastEvent(ctx context.Context, l *shortener.Link) (time.Time, error)
}

// Window decides which clicks on a link emit an event: the first click
// does, and clicks until Size after the last emitted event do not. It is
// safe for concurrent use; concurrent clicks on one link emit once.
//
// The window keeps the last event time of links in an LRU ordered by
// that time: only an emitted click moves a link to the front, since a
// suppressed one leaves its marker as it was (and a lookup that moves
// nothing reads less memory on the hot path). A link that is not in it
// (evicted, or after a restart) is looked up in Markers, so the window
// never reopens early; when more links are clicked within the window than
// the LRU holds, the cost is one extra storage read per click.
type Window struct {
	size    time.Duration
	markers Markers

	mu   sync.Mutex
	last *simplelru.LRU[string, time.Time]
}

// NewWindow returns a window of size that remembers up to capacity links
// in memory and reads the others from markers.
func NewWindow(size time.Duration, capacity int, markers Markers) (*Window, error) {
	l, err := simplelru.NewLRU[string, time.Time](capacity, nil)
	if err != nil {
		return nil, err
	}
	return &Window{size: size, markers: markers, last: l}, nil
}

// Admit reports whether a click on l at now emits an event. When it
// does, now becomes the link's last event time and prev is what it was
// before, for Undo. Only a failing marker read returns an error.
func (w *Window) Admit(ctx context.Context, l *shortener.Link,
	now time.Time) (emit bool, prev time.Time, err error) {
	code := l.Code
	w.mu.Lock()
	if last, ok := w.last.Peek(code); ok {
		emit, prev = w.decide(code, last, now)
		w.mu.Unlock()
		return emit, prev, nil
	}
	w.mu.Unlock()

	// Not in memory: the stored marker, read without the lock.
	last, err := w.markers.LastEvent(ctx, l)
	if err != nil {
		return false, time.Time{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.last.Peek(code); ok {
		// Another click filled the entry meanwhile; it is newer.
		last = cur
	} else if !last.IsZero() {
		w.last.Add(code, last)
	}
	emit, prev = w.decide(code, last, now)
	return emit, prev, nil
}

// decide reports whether a click at now emits, given the link's last
// event time, and makes now the last one if so. w.mu is held.
func (w *Window) decide(code string, last, now time.Time) (bool, time.Time) {
	if !last.IsZero() && now.Before(last.Add(w.size)) {
		return false, time.Time{}
	}
	w.last.Add(code, now)
	return true, last
}

// Undo restores the last event time of code to prev after the event
// admitted at at could not be stored, unless a later click changed it.
func (w *Window) Undo(code string, at, prev time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.last.Peek(code); ok && cur.Equal(at) {
		if prev.IsZero() {
			w.last.Remove(code)
		} else {
			w.last.Add(code, prev)
		}
	}
}

// Forget drops what the window knows of code, for a deleted link whose
// code may be given to a new one.
func (w *Window) Forget(code string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last.Remove(code)
}
