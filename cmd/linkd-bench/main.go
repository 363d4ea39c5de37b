// Command linkd-bench measures linkd under load over loopback. It starts a
// real linkd on a temporary database, preloads links through the batch
// API, runs each scenario for a bounded time and number of requests, and
// prints one table, also written as JSON to -out.
//
// Usage:
//
//	linkd-bench [-quick] [-linkd bin/linkd] [-links 1000000]
//	            [-duration 10s] [-conns 200] [-rounds 3]
//	            [-only floor,hot,...] [-out bench.json]
//
// The scenarios (-only names them), after a floor (a bare net/http server
// answering 302 from a Go map, in a process of its own, with the same
// client):
//
//   - hot: a lead's browser taps 10,000 cached codes that all emitted
//     their event already, so every tap is deduplicated (linkd runs with
//     --dedup-window 1h);
//   - uniform: the same taps of a lead's browser, on codes drawn from
//     every preloaded link, each tapped once before the rounds: still
//     deduplicated, but mostly missing linkd's cache of 100,000 links,
//     so the link is read from bbolt (its dedup marker is in memory);
//   - bots: facebookexternalhit/1.1 fetches codes drawn like uniform's:
//     cache misses without events;
//   - click→webhook: taps of fresh codes, each emitting an event that a
//     receiver in this process verifies; latency from the 302 to the
//     delivery, open loop at -rate, then closed over click and delivery;
//   - batch create: calls of 10,000 links;
//   - unique: every tap emits an event, durable before the 302, on a
//     second linkd whose --dedup-window is 1ms.
//
// floor, hot, uniform, bots and unique run in -rounds interleaved rounds
// (floor, hot, uniform, bots, unique, floor, hot, ...); each row is the
// median of its rounds, and the ratios the targets are stated in (hot to
// floor, uniform's p99 to hot's, unique to hot) are medians of the
// rounds' own ratios, so a drift of the shared machine during the run
// falls on both sides of each.
//
// Rates and latencies come from one client on the same machine as the
// server, so they are comparable within one run, not across machines.
// CPU per request is the linkd process's user and system time over the
// measured part of a scenario divided by its requests; for the redirect
// scenarios, that part lasts until linkd has folded every counter delta
// it holds (its linkd_counter_links_unfolded gauge reads 0), so the
// counters the requests left to write are theirs, and no round starts on
// another's.
//
// Limitations: the client is net/http, which costs about as much CPU per
// request as the server, so on a small machine the client caps every
// rate; the floor row shows where. /proc counts CPU time in 10ms ticks,
// so short runs (-quick) give CPU per request to about 10%. When linkd
// cannot keep up with the open-loop webhook rate, the pacer waits once
// -conns clicks are out, and requests still out 5s after the phase are
// cancelled and counted as errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkd-bench:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	linkd       string
	links       int
	duration    time.Duration
	warmup      time.Duration
	conns       int
	rate        int
	maxRequests int64
	hookClicks  int
	drain       time.Duration
	batchCalls  int
	timeout     time.Duration
	out         string
	quick       bool
	rounds      int
	only        map[string]bool // nil: every scenario
}

// scenarios are the names -only takes.
var scenarios = []string{"floor", "hot", "uniform", "bots", "unique",
	"webhook", "batch"}

// wants reports whether the scenario called name is to run.
func (c *config) wants(name string) bool { return c.only == nil || c.only[name] }

// parseConfig reads the flags; -quick changes the defaults of the flags
// not given.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("linkd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.quick {
		c.quickDefaults(fs)
	}
	return c, c.check()
}

// flags defines the flags on fs.
func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.linkd, "linkd", "",
		"linkd binary (default: go build ./cmd/linkd)")
	fs.IntVar(&c.links, "links", 1_000_000, "links to preload")
	fs.DurationVar(&c.duration, "duration", 10*time.Second,
		"measured time of each scenario")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second,
		"unmeasured time before each scenario")
	fs.IntVar(&c.conns, "conns", 200, "concurrent connections")
	fs.IntVar(&c.rate, "rate", 2000,
		"clicks per second of the open-loop webhook phase")
	fs.Int64Var(&c.maxRequests, "max-requests", 5_000_000,
		"most requests of one scenario")
	fs.IntVar(&c.hookClicks, "webhook-clicks", 100_000,
		"fresh codes for the closed-loop webhook phase")
	fs.DurationVar(&c.drain, "drain", 15*time.Second,
		"longest wait for webhook deliveries after the clicks")
	fs.IntVar(&c.batchCalls, "batch-calls", 5,
		"calls of the batch create scenario")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute,
		"cap on the whole run")
	fs.StringVar(&c.out, "out", "bench.json", "JSON results file")
	fs.IntVar(&c.rounds, "rounds", 3,
		"interleaved rounds of floor, hot, uniform, bots and unique; "+
			"each reports its median")
	fs.Func("only", "comma-separated scenarios to run (default: all of "+
		strings.Join(scenarios, ",")+")", func(v string) error {
		c.only = make(map[string]bool)
		for name := range strings.SplitSeq(v, ",") {
			if !slices.Contains(scenarios, name) {
				return fmt.Errorf("unknown scenario %q", name)
			}
			c.only[name] = true
		}
		return nil
	})
	fs.BoolVar(&c.quick, "quick", false,
		"a run of under a minute: fewer links, shorter scenarios")
}

// quickDefaults sets the -quick values of the flags fs was not given.
func (c *config) quickDefaults(fs *flag.FlagSet) {
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	quick := map[string]string{"links": "100000", "duration": "2s",
		"rounds": "1",
		"warmup": "1s", "webhook-clicks": "20000", "drain": "5s",
		"batch-calls": "3", "timeout": "2m"}
	for name, v := range quick {
		if !given[name] {
			fs.Set(name, v)
		}
	}
}

func (c *config) check() error {
	switch {
	case c.links < 1:
		return errors.New("-links must be at least 1")
	case c.duration <= 0 || c.warmup < 0:
		return errors.New("-duration must be positive, -warmup not negative")
	case c.conns < 1 || c.rate < 1 || c.maxRequests < 1 || c.rounds < 1:
		return errors.New("-conns, -rate, -max-requests and -rounds must " +
			"be positive")
	case c.hookClicks < 1 || c.batchCalls < 1:
		return errors.New("-webhook-clicks and -batch-calls must be positive")
	}
	return nil
}

// run executes the bench, or the floor server when args name it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == floorCommand {
		return serveFloor(ctx, args[1:], stdout)
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	// The client shares the CPUs with the server: collect its garbage
	// less often.
	debug.SetGCPercent(400)

	dir, err := os.MkdirTemp("", "linkd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(stderr, "linkd-bench: building linkd")
	bin, err := linkdBinary(ctx, cfg.linkd, dir)
	if err != nil {
		return err
	}

	b := &bencher{cfg: cfg, bin: bin, dir: dir, rep: newReport(cfg),
		log: stderr}
	err = b.run(ctx)
	b.rep.print(stdout)
	if werr := b.rep.write(cfg.out); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// bencher runs the scenarios and fills the report.
type bencher struct {
	cfg *config
	bin string // the linkd binary
	dir string // temporary files
	rep *report
	log io.Writer // progress
}

func (b *bencher) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "linkd-bench: "+format+"\n", args...)
}

// run starts the two linkds, preloads them, runs the interleaved rounds
// and then the webhook and batch scenarios.
func (b *bencher) run(ctx context.Context) error {
	srv, err := b.startLinkd(ctx, "main", "1h")
	if err != nil {
		return err
	}
	defer b.stopLinkd(srv)
	codes, hook, err := b.preload(ctx, srv)
	if err != nil {
		return err
	}
	b.rep.RSSMiB = srv.rssMiB()

	var stops []func()
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	hot := codes[:min(hotSize, len(codes))]
	setups := []struct {
		name  string
		setup func() (round, func(), error)
	}{
		{"floor", func() (round, func(), error) { return b.floor(ctx, hot) }},
		{"hot", func() (round, func(), error) { return b.hot(ctx, srv, hot) }},
		{"uniform", func() (round, func(), error) {
			return b.uniformCodes(ctx, srv, codes)
		}},
		{"bots", func() (round, func(), error) { return b.bots(ctx, srv, codes) }},
		{"unique", func() (round, func(), error) {
			u, err := b.startLinkd(ctx, "unique", "1ms")
			if err != nil {
				return nil, nil, err
			}
			stops = append(stops, func() { b.stopLinkd(u) })
			n := min(b.cfg.links, uniqueLinks)
			b.progress("unique: preloading %d links", n)
			ucodes, err := u.api.preload(ctx, mainCampaign, n)
			if err != nil {
				return nil, nil, err
			}
			return b.unique(ctx, u, ucodes)
		}},
	}
	var names []string
	var rounds []round
	for _, s := range setups {
		if !b.cfg.wants(s.name) {
			continue
		}
		r, stop, err := s.setup()
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		names, rounds = append(names, s.name), append(rounds, r)
	}
	if err := b.rounds(names, rounds, srv); err != nil {
		return err
	}
	if len(rounds) > 0 {
		b.rep.RoundsRSSMiB = srv.rssMiB()
		b.rep.RoundsAnonMiB = srv.anonMiB()
	}

	if b.cfg.wants("webhook") {
		if err := b.webhook(ctx, srv, hook); err != nil {
			return err
		}
	}
	if b.cfg.wants("batch") {
		if err := b.batch(ctx, srv); err != nil {
			return err
		}
	}
	return srv.alive()
}

// rounds runs each of rounds -rounds times, interleaved, so that a drift
// of the shared machine falls on all of them, and reports each
// scenario's median round and the medians of the per-round ratios.
func (b *bencher) rounds(names []string, rounds []round, srv *linkd) error {
	rows := make(map[string][]result)
	for k := range b.cfg.rounds {
		b.progress("round %d of %d", k+1, b.cfg.rounds)
		for i, r := range rounds {
			row, err := r()
			if err != nil {
				return err
			}
			rows[names[i]] = append(rows[names[i]], row)
			if err := srv.alive(); err != nil {
				return err
			}
		}
	}
	for _, name := range names {
		b.rep.add(median(rows[name]))
	}
	b.rep.EachRound = rows
	b.rep.ratios(rows)
	return nil
}

// preload creates the scenarios' links on srv: -links of the main
// campaign, and fresh codes for the click-to-webhook scenario.
func (b *bencher) preload(ctx context.Context,
	srv *linkd) (codes, hook []string, err error) {
	b.progress("preloading %d links in batches of %d", b.cfg.links,
		batchSize)
	start := time.Now()
	codes, err = srv.api.preload(ctx, mainCampaign, b.cfg.links)
	if err != nil {
		return nil, nil, err
	}
	took := time.Since(start)
	b.rep.PreloadSecs = took.Seconds()
	b.rep.PreloadRate = float64(b.cfg.links) / took.Seconds()

	n := b.fixedClicks() + b.cfg.hookClicks
	b.progress("preloading %d fresh links for the webhook scenario", n)
	hook, err = srv.api.preload(ctx, hookCampaign, n)
	b.rep.HookLinks = n
	return codes, hook, err
}

// startLinkd starts a linkd called name with the given dedup window.
func (b *bencher) startLinkd(ctx context.Context, name,
	window string) (*linkd, error) {
	srv, err := startLinkd(ctx, name, b.bin, b.dir, window)
	if err != nil {
		return nil, err
	}
	b.progress("linkd %s: pid %d, redirects on %s, --dedup-window %s", name,
		srv.cmd.Process.Pid, srv.public, window)
	return srv, nil
}

// stopLinkd stops srv and notes what its log holds.
func (b *bencher) stopLinkd(srv *linkd) {
	srv.stop()
	warns, errs, samples := srv.logSummary()
	b.rep.note("%s log: %d warnings, %d errors", srv.name, warns, errs)
	for _, s := range samples {
		b.rep.note("  %s", s)
	}
}
