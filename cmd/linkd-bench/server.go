package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/akti/linkd/cmd/internal/adminapi"
	"github.com/akti/linkd/emitter"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat. Linux
// reports them in USER_HZ, which is 100 on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// startTimeout bounds how long a child may take to say it listens.
const startTimeout = 30 * time.Second

// child is a server process the bench started. Only its own pid is ever
// signalled, through its *os.Process.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// readyWriter copies a child's stdout to a log and sends the submatches
// of the first line that matches ready.
type readyWriter struct {
	ready *regexp.Regexp
	log   io.Writer
	found chan []string
	buf   []byte
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.log.Write(p)
	if w.found == nil {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if m := w.ready.FindStringSubmatch(line); m != nil {
			w.found <- m
			w.found, w.buf = nil, nil
			return len(p), nil
		}
	}
}

// startChild runs bin with args, its output going to logPath, and returns
// once a line of its stdout matches ready, with that line's submatches.
func startChild(ctx context.Context, name, bin string, args []string,
	logPath string, ready *regexp.Regexp) (*child, []string, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	found := make(chan []string, 1)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &readyWriter{ready: ready, log: log, found: found}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath,
		exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		log.Close()
		close(c.exited)
	}()

	select {
	case m := <-found:
		return c, m, nil
	case <-c.exited:
		err = fmt.Errorf("%s exited at start: %v (log %s)", name, c.waitErr,
			logPath)
	case <-time.After(startTimeout):
		err = fmt.Errorf("%s did not start within %v", name, startTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.stop()
	return nil, nil, err
}

// stop asks the child to end with SIGTERM and kills it after a moment.
func (c *child) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(3 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// alive returns an error when the child has exited.
func (c *child) alive() error {
	select {
	case <-c.exited:
		return fmt.Errorf("%s exited: %v (log %s)", c.name, c.waitErr,
			c.logPath)
	default:
		return nil
	}
}

// cpu returns the CPU time, user and system, the child has used so far,
// or -1 when /proc cannot tell.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which may hold spaces; the first is
	// field 3 (state), so utime (14) and stime (15) are at 11 and 12.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(user+sys) * clockTick
}

// rssMiB returns the child's resident memory (VmRSS) in MiB, or -1.
func (c *child) rssMiB() float64 { return c.statusMiB("VmRSS") }

// anonMiB returns the child's resident anonymous memory (RssAnon: heap
// and stacks, not file pages mapped in) in MiB, or -1.
func (c *child) anonMiB() float64 { return c.statusMiB("RssAnon") }

// statusMiB returns the amount in kB that the child's /proc status gives
// for field, in MiB, or -1.
func (c *child) statusMiB(field string) float64 {
	path := fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(
				strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}

// logSummary counts the warnings and errors in the child's log and
// returns them with up to three of the error lines.
func (c *child) logSummary() (warns, errs int, samples []string) {
	f, err := os.Open(c.logPath)
	if err != nil {
		return 0, 0, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "level=WARN"):
			warns++
		case strings.Contains(line, "level=ERROR"):
			errs++
			if len(samples) < 3 {
				samples = append(samples, line)
			}
		}
	}
	return warns, errs, samples
}

// linkd is a running linkd serve with its admin API.
type linkd struct {
	*child
	public string // base URL of the redirects
	api    *api
}

var linkdReady = regexp.MustCompile(
	`redirects on (http://\S+), admin API on (http://\S+)$`)

// startLinkd starts bin as linkd serve on a new database in dir, on
// loopback ports of its choosing, with the given dedup window.
func startLinkd(ctx context.Context, name, bin, dir,
	window string) (*linkd, error) {
	token := "bench-" + rand.Text()
	args := []string{"serve",
		"--public-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--db", filepath.Join(dir, name+".db"), "--admin-token", token,
		"--dedup-window", window, "--webhook-allow-private",
		"--retry-initial", "500ms"}
	c, m, err := startChild(ctx, "linkd "+name, bin, args,
		filepath.Join(dir, name+".log"), linkdReady)
	if err != nil {
		return nil, err
	}
	return &linkd{child: c, public: m[1], api: newAPI(m[2], token)}, nil
}

// linkdBinary returns path when it is given, or builds linkd into dir.
func linkdBinary(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("-linkd: %w", err)
		}
		return path, nil
	}
	bin := filepath.Join(dir, "linkd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin,
		"github.com/akti/linkd/cmd/linkd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build linkd: %v\n%s", err, out)
	}
	return bin, nil
}

// floorCommand is the hidden subcommand that runs the floor server.
const floorCommand = "floor-serve"

var floorReady = regexp.MustCompile(`floor on (http://\S+)$`)

// startFloor writes codes and their destinations to dir and starts this
// program's floor server on them, in a process of its own like linkd.
func startFloor(ctx context.Context, dir string, codes,
	dests []string) (*child, string, error) {
	var b strings.Builder
	for i, c := range codes {
		fmt.Fprintf(&b, "%s %s\n", c, dests[i])
	}
	file := filepath.Join(dir, "floor.txt")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return nil, "", err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	c, m, err := startChild(ctx, "floor", self,
		[]string{floorCommand, "-codes", file},
		filepath.Join(dir, "floor.log"), floorReady)
	if err != nil {
		return nil, "", err
	}
	return c, m[1], nil
}

// serveFloor is the floor server: the least a Go program can do to answer
// a short link, a 302 from a map, on net/http alone.
func serveFloor(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	file := fs.String("codes", "", "file of \"code destination\" lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	dest := make(map[string][]string)
	for line := range strings.Lines(string(b)) {
		code, url, _ := strings.Cut(strings.TrimSpace(line), " ")
		dest["/"+code] = []string{url}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "floor on http://%s\n", ln.Addr())
	srv := newServer(floorHandler(dest))
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func floorHandler(dest map[string][]string) http.Handler {
	noStore := []string{"private, no-store"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc, ok := dest[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Location"] = loc
		h["Cache-Control"] = noStore
		w.WriteHeader(http.StatusFound)
	})
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout: 2 * time.Minute}
}

// api calls linkd's admin API as the admin.
type api struct{ adminapi.Client }

func newAPI(base, token string) *api {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}
	return &api{adminapi.Client{Base: base, Token: token,
		HTTP: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}}
}

// campaignStats are the counters of a campaign the bench checks.
type campaignStats struct {
	Clicks    int64 `json:"clicks"`
	BotClicks int64 `json:"botClicks"`
	Events    int64 `json:"events"`
}

// stats returns the counters of campaign.
func (a *api) stats(ctx context.Context, campaign string) (campaignStats,
	error) {
	var s campaignStats
	err := a.Call(ctx, http.MethodGet, "/api/v1/campaigns/"+campaign+
		"/stats", nil, &s)
	return s, err
}

// unfolded returns how many links' counter deltas linkd holds in memory,
// from its metrics.
func (a *api) unfolded(ctx context.Context) (float64, error) {
	const gauge = "linkd_counter_links_unfolded"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		a.Base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	mf := mfs[gauge]
	if mf == nil || len(mf.GetMetric()) != 1 {
		return 0, fmt.Errorf("GET /metrics: no %s", gauge)
	}
	return mf.GetMetric()[0].GetGauge().GetValue(), nil
}

// addWebhook registers url for the click events of campaign and returns
// the endpoint's signing secret.
func (a *api) addWebhook(ctx context.Context, url,
	campaign string) (string, error) {
	in := map[string]any{"url": url, "campaignId": campaign,
		"events": []string{"lead.link_clicked"}}
	var out struct {
		Secret string `json:"secret"`
	}
	err := a.Call(ctx, http.MethodPost, "/api/v1/webhooks", in, &out)
	return out.Secret, err
}

// receiver is the webhook consumer of the click-to-webhook scenario: it
// verifies each delivery the way a consumer does and records when the
// event of each hook code first arrived. It is safe for concurrent use;
// clicked is written by the clickers, one index each, and read only after
// they are done.
type receiver struct {
	url     string
	ln      net.Listener
	srv     *http.Server
	secret  string
	index   map[string]int // code → its index in the hook codes
	sent    []time.Time    // when each code's tap was sent
	clicked []time.Time    // when each code's 302 came back

	mu      sync.Mutex
	arrived []time.Time
	waiters map[int]chan struct{}
	bad     int64
	dups    int64
	strays  int64
	sample  string
}

// newReceiver listens on a loopback port for the events of codes.
func newReceiver(codes []string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{
		url:     "http://" + ln.Addr().String() + "/hook",
		ln:      ln,
		index:   make(map[string]int, len(codes)),
		sent:    make([]time.Time, len(codes)),
		clicked: make([]time.Time, len(codes)),
		arrived: make([]time.Time, len(codes)),
		waiters: make(map[int]chan struct{}),
	}
	for i, c := range codes {
		rc.index[c] = i
	}
	return rc, nil
}

// serve starts answering deliveries signed with secret.
func (rc *receiver) serve(secret string) {
	rc.secret = secret
	rc.srv = newServer(rc)
	go rc.srv.Serve(rc.ln)
}

// close stops the receiver.
func (rc *receiver) close() {
	if rc.srv != nil {
		rc.srv.Close()
		return
	}
	rc.ln.Close()
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = emitter.Verify(rc.secret, r.Header, body, at, 0)
	}
	if err != nil {
		rc.refuse(err)
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	var ev struct {
		Data struct {
			ShortURL string `json:"shortUrl"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.refuse(err)
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	u := ev.Data.ShortURL
	rc.arrive(u[strings.LastIndexByte(u, '/')+1:], at)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) refuse(err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bad++
	if rc.sample == "" {
		rc.sample = err.Error()
	}
}

// summary describes the deliveries that were not a first, verified
// delivery of a hook code's event; it is empty when there were none.
func (rc *receiver) summary() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var parts []string
	if rc.bad > 0 {
		parts = append(parts, fmt.Sprintf("%d refused (first: %s)", rc.bad,
			rc.sample))
	}
	if rc.dups > 0 {
		parts = append(parts, fmt.Sprintf("%d duplicate deliveries", rc.dups))
	}
	if rc.strays > 0 {
		parts = append(parts, fmt.Sprintf("%d for unknown codes", rc.strays))
	}
	return strings.Join(parts, ", ")
}

// arrive records the first delivery of code's event and wakes its waiter.
func (rc *receiver) arrive(code string, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	i, ok := rc.index[code]
	switch {
	case !ok:
		rc.strays++
	case !rc.arrived[i].IsZero():
		rc.dups++
	default:
		rc.arrived[i] = at
		if ch := rc.waiters[i]; ch != nil {
			close(ch)
			delete(rc.waiters, i)
		}
	}
}

// wait returns once the event of code i arrived or ctx ended.
func (rc *receiver) wait(ctx context.Context, i int) {
	rc.mu.Lock()
	if !rc.arrived[i].IsZero() {
		rc.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	rc.waiters[i] = ch
	rc.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		rc.mu.Lock()
		delete(rc.waiters, i)
		rc.mu.Unlock()
	}
}

// drain waits, for at most d, until every clicked code in [lo, hi) has
// its event.
func (rc *receiver) drain(ctx context.Context, lo, hi int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if rc.collect(lo, hi).missing() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliveries is what arrived for a range of hook codes.
type deliveries struct {
	lat       []time.Duration // click's 302 to the event's arrival
	fromSend  []time.Duration // tap's send to the event's arrival
	clicked   int
	delivered int
	early     int // arrived before the 302 was read; counted as 0
	first     time.Time
	last      time.Time
}

func (d *deliveries) missing() int { return d.clicked - d.delivered }

// perSecond returns the deliveries per second from the first click to the
// last arrival.
func (d *deliveries) perSecond() float64 {
	span := d.last.Sub(d.first).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(d.delivered) / span
}

// collect returns the deliveries of the clicked codes in [lo, hi).
func (rc *receiver) collect(lo, hi int) *deliveries {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	d := &deliveries{}
	for i := lo; i < hi; i++ {
		c, a := rc.clicked[i], rc.arrived[i]
		if c.IsZero() {
			continue
		}
		d.clicked++
		if d.first.IsZero() || c.Before(d.first) {
			d.first = c
		}
		if a.IsZero() {
			continue
		}
		d.delivered++
		if a.After(d.last) {
			d.last = a
		}
		d.fromSend = append(d.fromSend, a.Sub(rc.sent[i]))
		if a.Before(c) {
			d.early++
			a = c
		}
		d.lat = append(d.lat, a.Sub(c))
	}
	return d
}
