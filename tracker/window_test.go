package tracker_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
)

// t0 is the time every window scenario starts at.
var t0 = time.Date(2024, 1, 28, 12, 0, 0, 0, time.UTC)

// fakeMarkers is an in-memory tracker.Markers that counts its reads. It is
// safe for concurrent use.
type fakeMarkers struct {
	mu    sync.Mutex
	last  map[string]time.Time
	reads atomic.Int64
}

func newFakeMarkers() *fakeMarkers {
	return &fakeMarkers{last: make(map[string]time.Time)}
}

func (m *fakeMarkers) LastEvent(_ context.Context,
	l *shortener.Link) (time.Time, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[l.Code], nil
}

// abc is the link most window tests click.
var abc = link("abc")

func (m *fakeMarkers) EachMarker(_ context.Context, after time.Time,
	fn func(string, time.Time)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for code, at := range m.last {
		if at.After(after) {
			fn(code, at)
		}
	}
	return nil
}

func (m *fakeMarkers) set(code string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[code] = at
}

func newWindow(tb testing.TB, size time.Duration, capacity int,
	markers tracker.Markers) *tracker.Window {
	tb.Helper()
	w, err := tracker.NewWindow(size, capacity, markers)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// admit returns whether a click on code at t0+off emits.
func admit(tb testing.TB, w *tracker.Window, l *shortener.Link,
	off time.Duration) bool {
	tb.Helper()
	emit, _, err := w.Admit(context.Background(), l, t0.Add(off))
	if err != nil {
		tb.Fatalf("Admit(%q, +%v): %v", l.Code, off, err)
	}
	return emit
}

// link returns a link with code and nothing else, for windows over
// fakeMarkers.
func link(code string) *shortener.Link { return &shortener.Link{Code: code} }

// click is one click of a window timeline, at an offset from t0.
type click struct {
	At   time.Duration
	Emit bool
}

func TestWindowTimeline(t *testing.T) {
	tests := []struct {
		name   string
		clicks []click
	}{
		{"spec example", []click{
			{0, true},
			{29 * time.Second, false},
			{31 * time.Second, true},
			{45 * time.Second, false},
			{62 * time.Second, true},
		}},
		{"exactly one window after the event emits", []click{
			{0, true},
			{30*time.Second - time.Millisecond, false},
			{30 * time.Second, true},
		}},
		{"suppressed clicks do not extend the window", []click{
			{0, true},
			{10 * time.Second, false},
			{20 * time.Second, false},
			{29 * time.Second, false},
			{30 * time.Second, true},
			{59 * time.Second, false},
		}},
		{"same instant twice", []click{
			{0, true},
			{0, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
			var want, got []click
			for _, c := range tt.clicks {
				want = append(want, c)
				got = append(got, click{c.At, admit(t, w, link("abc"), c.At)})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWindowAdmitReturnsPrevious(t *testing.T) {
	w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
	ctx := context.Background()

	emit, prev, err := w.Admit(ctx, abc, t0)
	if err != nil || !emit || !prev.IsZero() {
		t.Fatalf("first Admit = %v, %v, %v; want true, zero, nil",
			emit, prev, err)
	}
	emit, prev, err = w.Admit(ctx, abc, t0.Add(40*time.Second))
	if err != nil || !emit || !prev.Equal(t0) {
		t.Fatalf("second Admit = %v, %v, %v; want true, %v, nil",
			emit, prev, err, t0)
	}
}

func TestWindowCodesAreIndependent(t *testing.T) {
	w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
	if !admit(t, w, link("aaa"), 0) {
		t.Fatal("first click on aaa did not emit")
	}
	if !admit(t, w, link("bbb"), time.Second) {
		t.Error("first click on bbb was suppressed by aaa's window")
	}
	if admit(t, w, link("aaa"), 2*time.Second) {
		t.Error("second click on aaa emitted")
	}
}

func TestWindowReadsStoredMarker(t *testing.T) {
	m := newFakeMarkers()
	m.set("abc", t0)
	w := newWindow(t, 30*time.Second, 16, m)

	if admit(t, w, link("abc"), 10*time.Second) {
		t.Error("click 10s after a stored event emitted")
	}
	if admit(t, w, link("abc"), 20*time.Second) {
		t.Error("click 20s after a stored event emitted")
	}
	if got := m.reads.Load(); got != 1 {
		t.Errorf("marker reads = %d, want 1 (then cached)", got)
	}
	if !admit(t, w, link("abc"), 31*time.Second) {
		t.Error("click 31s after a stored event was suppressed")
	}
}

// TestWindowAfterRestart runs the window over the real store: an event
// committed before a restart, whose marker was never flushed, still
// suppresses clicks after it.
func TestWindowAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &shortener.Link{Code: "abc123", URL: "https://example.com/",
		CampaignID: "camp1", Phone: "+15555550100", CreatedAt: t0}
	if err := db.CreateLinks(ctx, []*shortener.Link{l}, nil); err != nil {
		t.Fatal(err)
	}

	// Before the restart: the click at t0 emits and is committed.
	before := newWindow(t, 30*time.Second, 16, db)
	if !admit(t, before, l, 0) {
		t.Fatal("first click did not emit")
	}
	b := tracker.Batch{Emitted: []tracker.Emitted{
		emittedClick(emitter.NewIDs(), l, t0)}}
	if _, err := db.CommitClicks(ctx, &b); err != nil {
		t.Fatal(err)
	}

	// After it: a new window with an empty memory over the reopened file.
	db = reopen(t, db, path)
	after := newWindow(t, 30*time.Second, 16, db)
	if admit(t, after, l, 10*time.Second) {
		t.Error("click 10s after the event emitted after a restart")
	}
	if !admit(t, after, l, 31*time.Second) {
		t.Error("click 31s after the event was suppressed after a restart")
	}
}

// countingStore is the real store, counting the window's marker reads.
type countingStore struct {
	*store.DB
	reads atomic.Int64
}

func (s *countingStore) LastEvent(ctx context.Context,
	l *shortener.Link) (time.Time, error) {
	s.reads.Add(1)
	return s.DB.LastEvent(ctx, l)
}

// TestWindowLoadsStoredMarkers loads a window from the real store after a
// restart: the link whose event is within the window is suppressed, the
// others emit, and none is read from storage.
func TestWindowLoadsStoredMarkers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "linkd.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var links []*shortener.Link
	for _, code := range []string{"open01", "closed", "never1"} {
		links = append(links, &shortener.Link{Code: code,
			URL: "https://example.com/", CampaignID: "camp1",
			Phone: "+15555550100", CreatedAt: t0.Add(-time.Hour)})
	}
	if err := db.CreateLinks(ctx, links, nil); err != nil {
		t.Fatal(err)
	}
	ids := emitter.NewIDs()
	b := tracker.Batch{Emitted: []tracker.Emitted{
		emittedClick(ids, links[0], t0),
		emittedClick(ids, links[1], t0.Add(-40*time.Second))}}
	if _, err := db.CommitClicks(ctx, &b); err != nil {
		t.Fatal(err)
	}

	cs := &countingStore{DB: reopen(t, db, path)}
	w := newWindow(t, 30*time.Second, 16, cs)
	load(t, w, cs.DB, 5*time.Second)
	if got := w.Len(); got != 1 {
		t.Errorf("window loaded %d markers, want 1 (open01)", got)
	}
	for i, want := range []bool{false, true, true} {
		if got := admit(t, w, links[i], 10*time.Second); got != want {
			t.Errorf("click on %s 10s after t0: emitted %v, want %v",
				links[i].Code, got, want)
		}
	}
	if got := cs.reads.Load(); got != 0 {
		t.Errorf("%d marker reads from a loaded window, want 0", got)
	}
}

func TestWindowUndo(t *testing.T) {
	ctx := context.Background()

	t.Run("to no event", func(t *testing.T) {
		w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
		_, prev, _ := w.Admit(ctx, abc, t0)
		w.Undo("abc", t0, prev)
		if !admit(t, w, link("abc"), 5*time.Second) {
			t.Error("click after an undone first event was suppressed")
		}
	})

	t.Run("to an earlier event", func(t *testing.T) {
		w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
		admit(t, w, link("abc"), 0)
		at := t0.Add(30 * time.Second)
		_, prev, _ := w.Admit(ctx, abc, at)
		w.Undo("abc", at, prev)
		// Without the undo the window would run until +60s.
		if !admit(t, w, link("abc"), 31*time.Second) {
			t.Error("undo did not restore the earlier event")
		}
	})

	t.Run("after a newer admit", func(t *testing.T) {
		w := newWindow(t, 30*time.Second, 16, newFakeMarkers())
		_, prev, _ := w.Admit(ctx, abc, t0)
		admit(t, w, link("abc"), 30*time.Second)
		w.Undo("abc", t0, prev)
		if admit(t, w, link("abc"), 45*time.Second) {
			t.Error("stale undo reopened the newer event's window")
		}
	})
}

func TestWindowConcurrentAdmitEmitsOnce(t *testing.T) {
	m := newFakeMarkers()
	w := newWindow(t, 30*time.Second, 16, m)
	ctx := context.Background()

	const n = 100
	var emitted atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			emit, _, err := w.Admit(ctx, abc, t0)
			if err != nil {
				t.Error(err)
			}
			if emit {
				emitted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := emitted.Load(); got != 1 {
		t.Errorf("%d concurrent clicks emitted %d events, want 1", n, got)
	}
}

// TestWindowOverCapacityReadsDropped fills a window of two links: the
// third turns the generations, the fourth drops the first two, whose
// markers are then read from storage until their windows have closed,
// and no longer after that.
func TestWindowOverCapacityReadsDropped(t *testing.T) {
	m := newFakeMarkers()
	w := newWindow(t, 30*time.Second, 2, m)
	load(t, w, m, 0)

	// Four codes emit; their events are committed, as the recorder does.
	for _, code := range []string{"aaa", "bbb", "ccc", "ddd"} {
		if !admit(t, w, link(code), 0) {
			t.Fatalf("first click on %s did not emit", code)
		}
		m.set(code, t0)
	}
	if got := m.reads.Load(); got != 0 {
		t.Fatalf("%d marker reads before anything was dropped", got)
	}

	// aaa and bbb were dropped; their windows still hold from the markers.
	for _, code := range []string{"aaa", "bbb", "ccc", "ddd"} {
		if admit(t, w, link(code), 10*time.Second) {
			t.Errorf("click on %s 10s after its event emitted", code)
		}
	}
	if got := m.reads.Load(); got < 2 {
		t.Errorf("%d marker reads for the two dropped codes, want 2 or more",
			got)
	}

	// Once the dropped windows have closed, a code not held emits
	// without a read.
	reads := m.reads.Load()
	if !admit(t, w, link("eee"), 30*time.Second) {
		t.Error("first click on eee was suppressed")
	}
	if !admit(t, w, link("aaa"), 30*time.Second) {
		t.Error("click on aaa 30s after its event was suppressed")
	}
	if got := m.reads.Load() - reads; got != 0 {
		t.Errorf("%d marker reads after the dropped windows closed, want 0",
			got)
	}
}

// TestWindowTurnsWithoutLosingOpenWindows clicks a new link every second
// for 200 s, and again each one 29 s after its first click: every repeat
// is suppressed from memory across the turns of the generations, and
// memory holds no more than two windows of links.
func TestWindowTurnsWithoutLosingOpenWindows(t *testing.T) {
	m := newFakeMarkers()
	w := newWindow(t, 30*time.Second, 1000, m)
	load(t, w, m, 0)
	code := func(i int) string { return fmt.Sprintf("c%03d", i) }
	most := 0
	for i := range 200 {
		at := time.Duration(i) * time.Second
		if !admit(t, w, link(code(i)), at) {
			t.Fatalf("first click on %s at +%v was suppressed", code(i), at)
		}
		if i >= 29 && admit(t, w, link(code(i-29)), at) {
			t.Errorf("repeat on %s 29s after its event emitted", code(i-29))
		}
		most = max(most, w.Len())
	}
	if most > 61 {
		t.Errorf("window held %d links of a 30s window at one a second, "+
			"want at most 61", most)
	}
	if got := m.reads.Load(); got != 0 {
		t.Errorf("%d marker reads from a loaded window, want 0", got)
	}
}

// TestWindowClockSetBack loads a marker later than the clock, as after a
// restart with the clock set back: turns of the generations keep it
// until its window closes by the clock.
func TestWindowClockSetBack(t *testing.T) {
	m := newFakeMarkers()
	m.set("aaa", t0.Add(100*time.Second))
	w := newWindow(t, 30*time.Second, 1000, m)
	load(t, w, m, 0)
	for _, at := range []time.Duration{31, 62, 93, 124} {
		admit(t, w, link(fmt.Sprintf("x%d", at)), at*time.Second)
	}
	if admit(t, w, link("aaa"), 125*time.Second) {
		t.Error("click on aaa 25s after its event emitted")
	}
	if !admit(t, w, link("aaa"), 130*time.Second) {
		t.Error("click on aaa 30s after its event was suppressed")
	}
	if got := m.reads.Load(); got != 0 {
		t.Errorf("%d marker reads from a loaded window, want 0", got)
	}
}

// TestWindowLongestWindow keeps a window of the longest duration there is
// open: its end is past the last time there is, not before the first.
func TestWindowLongestWindow(t *testing.T) {
	m := newFakeMarkers()
	w := newWindow(t, time.Duration(math.MaxInt64), 16, m)
	load(t, w, m, 0)
	if !admit(t, w, abc, 0) {
		t.Fatal("first click did not emit")
	}
	for _, off := range []time.Duration{time.Second, 200 * 365 * 24 * time.Hour} {
		if admit(t, w, abc, off) {
			t.Errorf("click %v after the event emitted", off)
		}
	}
}

// TestWindowCodesDoNotCollide clicks codes that differ in length, in one
// character, or only beyond what fits in a number, and expects each
// first click to emit.
func TestWindowCodesDoNotCollide(t *testing.T) {
	codes := []string{"A", "AA", "AAA", "AAAAAAAAAA", "AAAAAAAAAAA",
		"AAAAAAAAAAB", "abc", "abd", "ab-", "ab_", "ab9", "abcdefghij",
		"abcdefghijk", "abcdefghijkl", "ab.", "ab~", "ab\xe9", "--________"}
	m := newFakeMarkers()
	w := newWindow(t, 30*time.Second, 1000, m)
	load(t, w, m, 0)
	for _, c := range codes {
		if !admit(t, w, link(c), time.Second) {
			t.Errorf("first click on %q was suppressed", c)
		}
	}
	for _, c := range codes {
		if admit(t, w, link(c), 2*time.Second) {
			t.Errorf("repeat click on %q emitted", c)
		}
	}
}

// load loads w from m at t0+off.
func load(tb testing.TB, w *tracker.Window, m tracker.MarkerLister,
	off time.Duration) {
	tb.Helper()
	if err := w.Load(context.Background(), t0.Add(off), m); err != nil {
		tb.Fatal(err)
	}
}
