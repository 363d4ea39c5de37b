package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
	"github.com/akti/linkd/tracker"
	"github.com/akti/linkd/web"
)

// Sizes of the in-memory caches.
const (
	linkCacheSize = 100_000
	// windowSize is how many links within their dedup windows are held
	// in memory, about 30 bytes each; more are read from the database.
	windowSize      = 16_000_000
	agentCacheSize  = 4096
	missClients     = 100_000
	shutdownTimeout = 15 * time.Second
	// gcPercent is the collector's target unless GOGC is set.
	gcPercent = 400
)

// serve runs the service until ctx ends, then shuts down in reverse order
// of start: listeners, click writer, deliveries, database.
func serve(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.logFormat, stderr)
	if getenv("GOGC") == "" {
		// The heap is mostly caches and short-lived request garbage, while
		// the data stays in the database's file mapping: collecting at 4x
		// the live heap instead of 2x halves the collector's CPU.
		debug.SetGCPercent(gcPercent)
	}

	db, err := store.Open(cfg.db)
	if err != nil {
		return err
	}
	defer db.Close()

	publicLn, err := net.Listen("tcp", cfg.publicAddr)
	if err != nil {
		return fmt.Errorf("public listener: %w (set --public-addr)", err)
	}
	defer publicLn.Close()
	adminLn, err := net.Listen("tcp", cfg.adminAddr)
	if err != nil {
		return fmt.Errorf("admin listener: %w (set --admin-addr)", err)
	}
	defer adminLn.Close()

	// The token comes last, so that a start that fails never uses up the
	// one printed on the first start.
	tokenHash, err := adminToken(ctx, db, cfg.adminToken, stdout)
	if err != nil {
		return err
	}
	if !cfg.baseURLSet {
		cfg.baseURL = "http://" + publicLn.Addr().String()
	}
	app, err := build(cfg, db, tokenHash, log)
	if err != nil {
		return err
	}
	return app.run(ctx, publicLn, adminLn, stdout)
}

// newPublic wires the public listener's handler.
func (a *app) newPublic(cfg *config, resolver *shortener.Resolver,
	window *tracker.Window) (*web.Public, error) {
	pub := &web.Public{
		Resolver:       resolver,
		Classifier:     tracker.NewClassifier(agentCacheSize),
		Visitor:        tracker.NewTracker(window, a.recorder, cfg.baseURL, time.Now),
		TrustForwarded: cfg.trustFwd,
		Log:            a.log,
		Now:            time.Now,
	}
	if cfg.missLimit > 0 {
		var err error
		pub.Misses, err = web.NewMissLimiter(
			time.Minute/time.Duration(cfg.missLimit), cfg.missLimit, missClients)
		if err != nil {
			return nil, err
		}
	}
	return pub, nil
}

// deliveryStore is the dispatcher's storage: deliveries are read from the
// database, attempts stored through the click writer.
type deliveryStore struct {
	*store.DB
	rec *tracker.Recorder
}

func (s deliveryStore) FinishAttempt(ctx context.Context, d *emitter.Delivery,
	was time.Time, a emitter.Attempt,
	change func(*emitter.Endpoint) bool) (bool, error) {
	return s.rec.FinishAttempt(ctx, d, was, a, change)
}

// app is the wired service.
type app struct {
	log      *slog.Logger
	recorder *tracker.Recorder
	disp     *emitter.Dispatcher
	public   *http.Server
	admin    *http.Server
	ready    atomic.Bool
	// retain prunes old data until its context ends.
	retain func(context.Context)
}

func build(cfg *config, db *store.DB, tokenHash []byte,
	log *slog.Logger) (*app, error) {
	a := &app{log: log}
	a.retain = func(ctx context.Context) { db.Retain(ctx, cfg.retention, log) }
	guard := &emitter.Guard{AllowPrivate: cfg.allowPrivate}
	// The click writer also stores delivery attempts, so that they share
	// its transactions; it wakes the dispatcher's lanes after commits.
	a.recorder = tracker.NewRecorder(db, log, tracker.RecorderOptions{
		OnCommit: func(ids []string) { a.disp.Wake(ids) }})
	a.disp = emitter.NewDispatcher(deliveryStore{db, a.recorder},
		emitter.Options{
			Timeout:      cfg.timeout,
			RetryInitial: cfg.retryInitial,
			RetryMaxAge:  cfg.retryMaxAge,
			UserAgent:    "linkd-webhooks/" + version(),
			Guard:        guard,
			Log:          log,
		})
	// Unfolded markers live in the click writer, which reads the rest
	// from the database.
	window, err := tracker.NewWindow(cfg.dedupWindow, windowSize, a.recorder)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := window.Load(context.Background(), start, db); err != nil {
		return nil, fmt.Errorf("load dedup markers: %w", err)
	}
	log.Info("dedup markers loaded", "count", window.Len(),
		"duration", time.Since(start).Round(time.Millisecond))
	resolver, err := shortener.NewResolver(db, linkCacheSize)
	if err != nil {
		return nil, err
	}
	pub, err := a.newPublic(cfg, resolver, window)
	if err != nil {
		return nil, err
	}
	links := shortener.NewService(db, resolver)
	// The writer's markers go first: the window, missing a code, reads
	// them.
	links.OnDelete(a.recorder.Forget)
	links.OnDelete(window.Forget)
	messages, err := tracker.NewMessages(db, db, links, cfg.baseURL,
		a.disp.Wake, time.Now)
	if err != nil {
		return nil, err
	}
	adm := &web.Admin{
		Links:          links,
		Messages:       messages,
		Webhooks:       emitter.NewService(db, guard, a.disp, time.Now),
		Stats:          db,
		Deliveries:     db,
		BaseURL:        cfg.baseURL,
		AdminTokenHash: tokenHash,
		Keys:           db,
		Backups:        db,
		CORSOrigins:    cfg.corsOrigins,
		Ready:          a.ready.Load,
		Log:            log,
		Now:            time.Now,
	}
	metrics := web.NewMetrics(web.MetricsSources{Resolver: resolver,
		Dispatcher: a.disp, Store: db, Counters: a.recorder, Window: window,
		Version: version()})
	pub.Metrics, adm.Metrics = metrics, metrics
	a.public = newServer(pub.Handler(), 16<<10, 30*time.Second)
	a.admin = newServer(adm.Handler(), 64<<10, 2*time.Minute)
	return a, nil
}

func newServer(h http.Handler, maxHeader int, rw time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       rw,
		WriteTimeout:      rw,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeader,
	}
}

func (a *app) run(ctx context.Context, publicLn, adminLn net.Listener,
	stdout io.Writer) error {
	dispCtx, stopDisp := context.WithCancel(context.Background())
	dispDone := make(chan error, 1)
	go func() { dispDone <- a.disp.Run(dispCtx) }()
	retainCtx, stopRetain := context.WithCancel(context.Background())
	retainDone := make(chan struct{})
	go func() { a.retain(retainCtx); close(retainDone) }()

	errs := make(chan error, 2)
	go func() { errs <- a.public.Serve(publicLn) }()
	go func() { errs <- a.admin.Serve(adminLn) }()
	a.ready.Store(true)
	fmt.Fprintf(stdout, "linkd %s: redirects on http://%s, admin API on http://%s\n",
		version(), publicLn.Addr(), adminLn.Addr())

	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	a.ready.Store(false)
	a.log.Info("shutting down")

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Requests still open at the deadline (a slow backup download, say)
	// are cut, so that the database can close.
	for _, srv := range []*http.Server{a.public, a.admin} {
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}
	// Attempts in flight store their outcome through the click writer,
	// so the dispatcher stops first.
	stopDisp()
	<-dispDone
	a.recorder.Stop()
	stopRetain()
	<-retainDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.log.Info("stopped")
	return err
}

// adminToken returns the SHA-256 of the admin token. A given token
// replaces the stored one, which is said once when they differ; with none
// given, the stored one is kept, and on the very first start a new token
// is generated and printed once.
func adminToken(ctx context.Context, db *store.DB, given string,
	stdout io.Writer) ([]byte, error) {
	stored, err := db.AdminTokenHash(ctx)
	if err != nil {
		return nil, err
	}
	if given != "" {
		sum := sha256.Sum256([]byte(given))
		if subtle.ConstantTimeCompare(sum[:], stored) == 1 {
			return stored, nil
		}
		if err := db.SetAdminTokenHash(ctx, sum[:]); err != nil {
			return nil, err
		}
		if stored != nil {
			fmt.Fprintln(stdout, "admin token replaced by the given one; "+
				"the previous one no longer works")
		}
		return sum[:], nil
	}
	if stored != nil {
		return stored, nil
	}
	tok := "lkd_admin_" + rand.Text()
	sum := sha256.Sum256([]byte(tok))
	if err := db.SetAdminTokenHash(ctx, sum[:]); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "admin token (shown once, keep it): %s\n", tok)
	return sum[:], nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// version returns the module version linkd was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" &&
		bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
