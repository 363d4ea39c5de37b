package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// User-Agents of the scenarios: a lead's phone browser and a link-preview
// fetcher.
const (
	safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
		"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 " +
		"Mobile/15E148 Safari/604.1"
	facebook = "facebookexternalhit/1.1"
)

// Campaigns of the generated links.
const (
	mainCampaign  = "bench"
	hookCampaign  = "bench-hook"
	batchCampaign = "bench-batch"
)

const (
	hotSize     = 10_000  // codes of the hot scenario and the floor
	batchSize   = 10_000  // links per batch call, linkd's maximum
	uniqueLinks = 100_000 // links of the unique scenario's linkd
	preloadJobs = 2       // batch calls in flight while preloading
	// hardGrace is how long past its end a phase's requests may still run
	// before they are cancelled.
	hardGrace = 5 * time.Second
)

// hitter sends GETs of short-link paths to one server, as one kind of
// client, without following redirects. It is safe for concurrent use.
type hitter struct {
	client *http.Client
	tmpl   *http.Request
}

// newHitter returns a hitter of base sending agent as User-Agent, with
// keep-alive connections for conns concurrent requests.
func newHitter(base, agent string, conns int) (*hitter, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", agent)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil, // loopback only, never a proxy
		DialContext:           dialer.DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: 10 * time.Second,
		DisableCompression:    true,
	}
	c := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &hitter{client: c, tmpl: req}, nil
}

func (h *hitter) close() { h.client.CloseIdleConnections() }

// hit requests path with a copy of tmpl, reads the body and returns the
// status. The copy costs two small allocations; the template's header is
// shared, which is safe as nothing writes it.
func (h *hitter) hit(tmpl *http.Request, path string) (int, error) {
	u := *tmpl.URL
	u.Path = path
	req := *tmpl
	req.URL = &u
	resp, err := h.client.Do(&req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// loop is one bounded run of requests.
type loop struct {
	paths []string // "/" and a code
	conns int
	dur   time.Duration
	max   int64
	// pick returns the index in paths of request n; false ends the run.
	pick func(rng *rand.Rand, n int64) (int, bool)
	// done, when set, is called after each 302 with its path's index,
	// when the request was sent and when its answer was read.
	done func(ctx context.Context, i int, sent, at time.Time)
}

// uniform picks paths uniformly at random.
func uniform(size int) func(*rand.Rand, int64) (int, bool) {
	return func(rng *rand.Rand, _ int64) (int, bool) {
		return rng.IntN(size), true
	}
}

// sequential picks each path once, in order.
func sequential(size int) func(*rand.Rand, int64) (int, bool) {
	return func(_ *rand.Rand, n int64) (int, bool) {
		return int(n), n < int64(size)
	}
}

// tally is what requests saw. Latencies are kept whole, one duration per
// request, and sorted at the end: exact percentiles for 8 bytes each.
type tally struct {
	lat    []time.Duration
	errs   int64
	status map[string]int64 // answers other than 302, "error" for none
	sample string
}

func (t *tally) add(lat time.Duration, status int, err error) {
	t.lat = append(t.lat, lat)
	if err == nil && status == http.StatusFound {
		return
	}
	t.errs++
	key := strconv.Itoa(status)
	if err != nil {
		key = "error"
	}
	if t.status == nil {
		t.status = make(map[string]int64)
	}
	t.status[key]++
	if t.sample == "" && err != nil {
		t.sample = err.Error()
	} else if t.sample == "" {
		t.sample = "status " + key
	}
}

func (t *tally) merge(o *tally) {
	t.lat = append(t.lat, o.lat...)
	t.errs += o.errs
	for k, v := range o.status {
		if t.status == nil {
			t.status = make(map[string]int64)
		}
		t.status[k] += v
	}
	if t.sample == "" {
		t.sample = o.sample
	}
}

// pass is the tally of one loop and how long it took.
type pass struct {
	tally
	elapsed time.Duration
}

func (r *pass) count() int64 { return int64(len(r.lat)) }

// result returns r as a row of requests, with the server's CPU time.
func (r *pass) result(name string, conns int, cpu time.Duration) result {
	p50, p99, p999 := quantiles(r.lat)
	return result{
		Scenario: name, Conns: conns, Count: r.count(),
		Seconds: r.elapsed.Seconds(), Unit: "req",
		Rate:  float64(r.count()) / r.elapsed.Seconds(),
		P50ms: p50, P99ms: p99, P999ms: p999,
		Errors: r.errs, Statuses: r.status, Sample: r.sample,
		CPUus: perRequest(cpu, r.count()),
	}
}

// closedLoop runs l.conns workers, each sending its next request as soon
// as the previous one is answered, until l.dur has passed or l.max
// requests were sent. Requests still out hardGrace after the end are
// cancelled.
func (h *hitter) closedLoop(ctx context.Context, l loop) *pass {
	start := time.Now()
	end := start.Add(l.dur)
	ctx, cancel := context.WithDeadline(ctx, end.Add(hardGrace))
	defer cancel()
	var seq atomic.Int64
	ts := make([]*tally, l.conns)
	var wg sync.WaitGroup
	for w := range ts {
		ts[w] = &tally{lat: make([]time.Duration, 0, 4096)}
		wg.Go(func() { h.work(ctx, l, ts[w], &seq, end) })
	}
	wg.Wait()
	r := &pass{elapsed: time.Since(start)}
	for _, t := range ts {
		r.merge(t)
	}
	return r
}

// work is one worker of a closed loop.
func (h *hitter) work(ctx context.Context, l loop, t *tally,
	seq *atomic.Int64, end time.Time) {
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	tmpl := h.tmpl.WithContext(ctx)
	for ctx.Err() == nil && time.Now().Before(end) {
		n := seq.Add(1) - 1
		i, ok := l.pick(rng, n)
		if n >= l.max || !ok {
			return
		}
		start := time.Now()
		status, err := h.hit(tmpl, l.paths[i])
		at := time.Now()
		t.add(at.Sub(start), status, err)
		if l.done != nil && err == nil && status == http.StatusFound {
			l.done(ctx, i, start, at)
		}
	}
}

// openLoop sends request n when n/rate seconds have passed since the
// start, whether or not earlier ones were answered, for l.dur or l.max
// requests. Each is timed from when it was due, so a server that falls
// behind cannot hide its queue. At most l.conns are out at once; beyond
// that the pacer waits, and the wait shows in the latencies.
func (h *hitter) openLoop(ctx context.Context, rate int, l loop) *pass {
	n := min(l.max, int64(l.dur.Seconds()*float64(rate)))
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(l.dur+hardGrace))
	defer cancel()
	tmpl := h.tmpl.WithContext(ctx)
	lat, status := make([]time.Duration, n), make([]int, n)
	errs := make([]error, n)
	sem := make(chan struct{}, l.conns)
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var wg sync.WaitGroup
	sent := h.pace(ctx, rate, n, start, func(k int64, due time.Time) bool {
		i, ok := l.pick(rng, k)
		if !ok {
			return false
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sent := time.Now()
			status[k], errs[k] = h.hit(tmpl, l.paths[i])
			at := time.Now()
			lat[k] = at.Sub(due)
			ok := errs[k] == nil && status[k] == http.StatusFound
			if l.done != nil && ok {
				l.done(ctx, i, sent, at)
			}
		})
		return true
	})
	wg.Wait()
	r := &pass{elapsed: time.Since(start)}
	for k := range sent {
		r.add(lat[k], status[k], errs[k])
	}
	return r
}

// pace calls send for k from 0 to n-1 at start + k/rate, until send
// returns false or ctx ends, and returns how many it sent.
func (h *hitter) pace(ctx context.Context, rate int, n int64, start time.Time,
	send func(k int64, due time.Time) bool) int64 {
	for k := range n {
		due := start.Add(time.Duration(k) * time.Second / time.Duration(rate))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil || !send(k, due) {
			return k
		}
	}
	return n
}

// paths returns the request path of each code.
func paths(codes []string) []string {
	ps := make([]string, len(codes))
	for i, c := range codes {
		ps[i] = "/" + c
	}
	return ps
}

// loop returns a closed loop over ps with the configured connections,
// duration and request cap.
func (b *bencher) loop(ps []string, conns int,
	pick func(*rand.Rand, int64) (int, bool)) loop {
	return loop{paths: ps, conns: conns, dur: b.cfg.duration,
		max: b.cfg.maxRequests, pick: pick}
}

// measure runs l unrecorded for the warm-up, then again for its duration
// with the server's CPU time read around it.
func (b *bencher) measure(ctx context.Context, srv *child, h *hitter,
	name string, l loop) result {
	return b.measureUntil(ctx, srv, h, name, l, func() {})
}

// measureUntil is measure with the server's CPU time read once settled
// has returned as well: the work the requests left behind is theirs.
func (b *bencher) measureUntil(ctx context.Context, srv *child, h *hitter,
	name string, l loop, settled func()) result {
	b.progress("%s: %v warm-up, %v at %d conns", name, b.cfg.warmup,
		l.dur, l.conns)
	warm := l
	warm.dur = b.cfg.warmup
	h.closedLoop(ctx, warm)
	settled()
	cpu0 := srv.cpu()
	r := h.closedLoop(ctx, l)
	settled()
	return r.result(name, l.conns, cpuSince(srv, cpu0))
}

// cpuSince returns the CPU time srv used since it had used cpu0, or -1.
func cpuSince(srv *child, cpu0 time.Duration) time.Duration {
	cpu1 := srv.cpu()
	if cpu0 < 0 || cpu1 < 0 {
		return -1
	}
	return cpu1 - cpu0
}

// round measures a scenario once; rounds of the scenarios interleave.
type round func() (result, error)

// floor starts the floor server on the hot codes and returns its round,
// with the client and settings of the hot scenario, and a stop.
func (b *bencher) floor(ctx context.Context, hot []string) (round, func(),
	error) {
	dests := make([]string, len(hot))
	for i := range hot {
		dests[i] = destination(mainCampaign, i)
	}
	srv, base, err := startFloor(ctx, b.dir, hot, dests)
	if err != nil {
		return nil, nil, err
	}
	h, err := newHitter(base, safari, b.cfg.conns)
	if err != nil {
		srv.stop()
		return nil, nil, err
	}
	stop := func() { h.close(); srv.stop() }
	ps := paths(hot)
	return func() (result, error) {
		r := b.measure(ctx, srv, h, "floor: net/http map",
			b.loop(ps, b.cfg.conns, uniform(len(ps))))
		r.Note = "302 from a Go map in a process of its own, same client"
		return r, nil
	}, stop, nil
}

// hot taps each hot code once, which caches it and opens its dedup
// window, and returns the round of taps of a lead's browser on them, all
// deduplicated.
func (b *bencher) hot(ctx context.Context, srv *linkd,
	hot []string) (round, func(), error) {
	h, err := newHitter(srv.public, safari, b.cfg.conns)
	if err != nil {
		return nil, nil, err
	}
	ps := paths(hot)
	b.firstTaps(ctx, h, "hot", ps)
	return b.counted(ctx, srv, h, "hot: deduplicated taps", ps,
		func(d campaignStats) string {
			return fmt.Sprintf("%d codes; events emitted during the run: "+
				"%d (want 0); clicks counted: %d", len(ps), d.Events, d.Clicks)
		}), h.close, nil
}

// firstTaps taps each of ps once, in order, which opens its dedup window:
// each tap emits its event, and later ones within the window are
// deduplicated.
func (b *bencher) firstTaps(ctx context.Context, h *hitter, name string,
	ps []string) {
	b.progress("%s: one tap on each of %d codes", name, len(ps))
	start := time.Now()
	first := h.closedLoop(ctx, loop{paths: ps, conns: b.cfg.conns,
		dur: 30 * time.Minute, max: int64(len(ps)),
		pick: sequential(len(ps))})
	if first.errs > 0 {
		b.rep.note("%s: %d of the first taps failed: %s", name, first.errs,
			first.sample)
	}
	b.progress("%s: %d first taps in %v", name, len(first.lat),
		time.Since(start).Round(time.Second))
}

// uniformCodes taps every preloaded link once, and returns the round of a
// lead's taps on codes drawn from all of them: deduplicated like hot's,
// but mostly missing linkd's cache of 100,000 links, so the link is
// read from bbolt.
func (b *bencher) uniformCodes(ctx context.Context, srv *linkd,
	codes []string) (round, func(), error) {
	h, err := newHitter(srv.public, safari, b.cfg.conns)
	if err != nil {
		return nil, nil, err
	}
	ps := paths(codes)
	b.firstTaps(ctx, h, "uniform", ps)
	return b.counted(ctx, srv, h, "uniform: all links", ps,
		func(d campaignStats) string {
			return fmt.Sprintf("taps of codes drawn from %d links, each "+
				"tapped once before, linkd caches 100000 links; clicks "+
				"counted: %d, events: %d (want 0)", len(ps), d.Clicks,
				d.Events)
		}), h.close, nil
}

// bots returns the round of link-preview fetches of codes drawn from
// every preloaded link: cache misses, like uniform, but without events.
func (b *bencher) bots(ctx context.Context, srv *linkd,
	codes []string) (round, func(), error) {
	h, err := newHitter(srv.public, facebook, b.cfg.conns)
	if err != nil {
		return nil, nil, err
	}
	ps := paths(codes)
	return b.counted(ctx, srv, h, "bots: preview fetches", ps,
		func(d campaignStats) string {
			return fmt.Sprintf("%q on codes drawn from %d links; bot "+
				"visits counted: %d, events: %d (want 0)", facebook, len(ps),
				d.BotClicks, d.Events)
		}), h.close, nil
}

// unique returns the round of taps that each emit an event, durable
// before the 302, on srv, whose 1ms dedup window lets every tap emit.
func (b *bencher) unique(ctx context.Context, srv *linkd,
	codes []string) (round, func(), error) {
	h, err := newHitter(srv.public, safari, b.cfg.conns)
	if err != nil {
		return nil, nil, err
	}
	ps := paths(codes)
	return b.counted(ctx, srv, h, "unique: every tap an event", ps,
		func(d campaignStats) string {
			return fmt.Sprintf("separate linkd, --dedup-window 1ms, %d "+
				"links: %d events for %d taps counted",
				len(ps), d.Events, d.Clicks)
		}), h.close, nil
}

// counted returns a round of h's requests for paths drawn uniformly from
// ps, whose note says, through note, what srv counted meanwhile in the
// main campaign. The round starts and ends once srv has folded its
// counters, so that no round works off another's counters, and its CPU
// time includes writing its own.
func (b *bencher) counted(ctx context.Context, srv *linkd, h *hitter,
	name string, ps []string, note func(campaignStats) string) round {
	return func() (result, error) {
		// Settled after the warm-up, then after the run.
		var seen []campaignStats
		var err error
		settle := func() {
			if err == nil {
				var s campaignStats
				s, err = b.settle(ctx, srv, mainCampaign)
				seen = append(seen, s)
			}
		}
		r := b.measureUntil(ctx, srv.child, h, name,
			b.loop(ps, b.cfg.conns, uniform(len(ps))), settle)
		if err != nil {
			return r, err
		}
		before, after := seen[0], seen[1]
		r.Note = note(campaignStats{
			Clicks:    after.Clicks - before.Clicks,
			BotClicks: after.BotClicks - before.BotClicks,
			Events:    after.Events - before.Events,
		})
		return r, err
	}
}

// settlePoll is how often settle looks at linkd's counters.
const settlePoll = 100 * time.Millisecond

// settle waits until linkd has folded every counter delta it holds into
// the counters, and the counters of campaign read the same twice in a
// row, and returns them.
func (b *bencher) settle(ctx context.Context, srv *linkd,
	campaign string) (campaignStats, error) {
	var last campaignStats
	folded := false
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(settlePoll):
		}
		n, err := srv.api.unfolded(ctx)
		if err != nil {
			return last, err
		}
		if n > 0 {
			folded = false
			continue
		}
		now, err := srv.api.stats(ctx, campaign)
		if err != nil {
			return last, err
		}
		if folded && now == last {
			return now, nil
		}
		last, folded = now, true
	}
}

// webhook measures the time from a click's 302 to its signed delivery,
// first open loop at the configured rate, then at the most the pipeline
// carries: each of conns workers taps a fresh code and waits for its
// event before the next tap.
func (b *bencher) webhook(ctx context.Context, srv *linkd,
	hook []string) error {
	rc, err := newReceiver(hook)
	if err != nil {
		return err
	}
	defer rc.close()
	secret, err := srv.api.addWebhook(ctx, rc.url, hookCampaign)
	if err != nil {
		return err
	}
	rc.serve(secret)
	h, err := newHitter(srv.public, safari, b.cfg.conns)
	if err != nil {
		return err
	}
	defer h.close()

	ps := paths(hook)
	fixed := b.fixedClicks()
	b.rep.add(b.webhookFixed(ctx, srv, h, rc, ps[:fixed]))
	b.rep.add(b.webhookMax(ctx, srv, h, rc, ps[fixed:], fixed))
	if s := rc.summary(); s != "" {
		b.rep.note("webhook receiver: %s", s)
	}
	return nil
}

// fixedClicks is how many fresh codes the fixed-rate phase taps.
func (b *bencher) fixedClicks() int {
	return int((b.cfg.warmup + b.cfg.duration).Seconds() *
		float64(b.cfg.rate))
}

// webhookFixed taps fresh codes open loop at the configured rate for the
// warm-up and the duration, waits for their deliveries, and reports those
// of the clicks after the warm-up.
func (b *bencher) webhookFixed(ctx context.Context, srv *linkd, h *hitter,
	rc *receiver, ps []string) result {
	name := fmt.Sprintf("click→webhook @%d/s", b.cfg.rate)
	b.progress("%s: %v open loop, then up to %v for deliveries", name,
		b.cfg.warmup+b.cfg.duration, b.cfg.drain)
	l := loop{paths: ps, conns: b.cfg.conns,
		dur: b.cfg.warmup + b.cfg.duration, max: int64(len(ps)),
		pick: sequential(len(ps)),
		done: func(_ context.Context, i int, sent, at time.Time) {
			rc.sent[i], rc.clicked[i] = sent, at
		}}
	cpu0 := srv.cpu()
	clicks := h.openLoop(ctx, b.cfg.rate, l)
	warm := int(b.cfg.warmup.Seconds() * float64(b.cfg.rate))
	rc.drain(ctx, warm, len(ps), b.cfg.drain)
	cpu := cpuSince(srv.child, cpu0)
	return b.webhookResult(name, rc.collect(warm, len(ps)), clicks, cpu,
		fmt.Sprintf("open loop offered %d/s", b.cfg.rate))
}

// webhookMax runs a closed loop over click and delivery on the fresh
// codes ps, whose receiver indexes start at off.
func (b *bencher) webhookMax(ctx context.Context, srv *linkd, h *hitter,
	rc *receiver, ps []string, off int) result {
	name := "click→webhook max"
	b.progress("%s: %v closed loop over click and delivery, %d conns",
		name, b.cfg.duration, b.cfg.conns)
	l := b.loop(ps, b.cfg.conns, sequential(len(ps)))
	l.done = func(ctx context.Context, i int, sent, at time.Time) {
		rc.sent[off+i], rc.clicked[off+i] = sent, at
		rc.wait(ctx, off+i)
	}
	cpu0 := srv.cpu()
	clicks := h.closedLoop(ctx, l)
	rc.drain(ctx, off, off+len(ps), b.cfg.drain)
	cpu := cpuSince(srv.child, cpu0)
	return b.webhookResult(name, rc.collect(off, off+len(ps)), clicks, cpu,
		"closed loop")
}

// webhookResult makes the row of a click-to-webhook phase: deliveries per
// second and end-to-end latencies, with the clicks in the note.
func (b *bencher) webhookResult(name string, d *deliveries, clicks *pass,
	cpu time.Duration, how string) result {
	p50, p99, p999 := quantiles(d.lat)
	t50, t99, _ := quantiles(d.fromSend)
	c := clicks.result(name, b.cfg.conns, cpu)
	r := result{
		Scenario: name, Conns: b.cfg.conns, Count: int64(d.delivered),
		Seconds: d.last.Sub(d.first).Seconds(), Unit: "deliveries",
		Rate: d.perSecond(), P50ms: p50, P99ms: p99, P999ms: p999,
		Errors: clicks.errs + int64(d.missing()), Statuses: c.Statuses,
		Sample: c.Sample, CPUus: c.CPUus,
	}
	r.Note = fmt.Sprintf("%s: %d clicks answered at %.0f/s, click p50 "+
		"%.2fms p99 "+
		"%.2fms; latency is from the click's 302 to its verified "+
		"delivery (from the tap's send: p50 %.2fms p99 %.2fms); %d of %d "+
		"measured clicks delivered, %d before their 302 was read; cpu "+
		"per click", how, c.Count, c.Rate, c.P50ms, c.P99ms, t50, t99,
		d.delivered, d.clicked, d.early)
	return r
}

// batch measures creating links through the batch API.
func (b *bencher) batch(ctx context.Context, srv *linkd) error {
	b.progress("batch create: %d calls of %d links", b.cfg.batchCalls,
		batchSize)
	lat := make([]time.Duration, 0, b.cfg.batchCalls)
	cpu0 := srv.cpu()
	start := time.Now()
	for k := range b.cfg.batchCalls {
		t := time.Now()
		_, err := srv.api.createBatch(ctx, batchCampaign, k*batchSize,
			(k+1)*batchSize)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	p50, p99, p999 := quantiles(lat)
	n := int64(b.cfg.batchCalls) * batchSize
	b.rep.add(result{
		Scenario: "batch create", Conns: 1, Count: n,
		Seconds: elapsed.Seconds(), Unit: "links",
		Rate:  float64(n) / elapsed.Seconds(),
		P50ms: p50, P99ms: p99, P999ms: p999,
		CPUus: perRequest(cpuSince(srv.child, cpu0), int64(len(lat))),
		Note: fmt.Sprintf("%d calls of %d links, one at a time; latency "+
			"and cpu per call", len(lat), batchSize),
	})
	return nil
}

// linkRequest is one item of a batch create.
type linkRequest struct {
	URL            string `json:"url"`
	CampaignID     string `json:"campaignId"`
	Phone          string `json:"phone"`
	ExternalLeadID string `json:"externalLeadId"`
}

// destination returns the URL of generated link i of campaign.
func destination(campaign string, i int) string {
	return "https://shop.example.com/offer/" + strconv.Itoa(i) +
		"?utm_source=sms&utm_campaign=" + campaign
}

// newLinkRequest returns generated link i of campaign, each for a lead of
// its own.
func newLinkRequest(campaign string, i int) linkRequest {
	return linkRequest{
		URL:            destination(campaign, i),
		CampaignID:     campaign,
		Phone:          fmt.Sprintf("+1415%07d", i%10_000_000),
		ExternalLeadID: "lead-" + strconv.Itoa(i),
	}
}

// createBatch creates links lo to hi of campaign in one call and returns
// their codes in order.
func (a *api) createBatch(ctx context.Context, campaign string,
	lo, hi int) ([]string, error) {
	var in struct {
		Links []linkRequest `json:"links"`
	}
	for i := lo; i < hi; i++ {
		in.Links = append(in.Links, newLinkRequest(campaign, i))
	}
	var out struct {
		Links []struct {
			Code string `json:"code"`
		} `json:"links"`
	}
	err := a.Call(ctx, http.MethodPost, "/api/v1/links/batch", in, &out)
	if err != nil {
		return nil, err
	}
	if len(out.Links) != hi-lo {
		return nil, fmt.Errorf("batch of %d links answered %d", hi-lo,
			len(out.Links))
	}
	codes := make([]string, len(out.Links))
	for i, l := range out.Links {
		codes[i] = l.Code
	}
	return codes, nil
}

// preload creates links 0 to n-1 of campaign in batches of batchSize,
// preloadJobs calls in flight, and returns their codes in order.
func (a *api) preload(ctx context.Context, campaign string,
	n int) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	codes := make([]string, n)
	next := make(chan int)
	errs := make(chan error, preloadJobs)
	var wg sync.WaitGroup
	for range preloadJobs {
		wg.Go(func() {
			for lo := range next {
				got, err := a.createBatch(ctx, campaign, lo,
					min(lo+batchSize, n))
				if err != nil {
					errs <- err
					cancel()
					return
				}
				copy(codes[lo:], got)
			}
		})
	}
feed:
	for lo := 0; lo < n; lo += batchSize {
		select {
		case next <- lo:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return nil, err // the first; any others were cancelled by it
	}
	return codes, ctx.Err()
}
