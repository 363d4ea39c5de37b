package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/store"
)

// linkd runs the linkd command args with env and returns its output.
func linkd(t testing.TB, env map[string]string, args ...string) (string,
	error) {
	t.Helper()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	err := run(t.Context(), args, func(k string) string { return env[k] },
		out, errOut)
	return out.String() + errOut.String(), err
}

// mustLinkd is linkd that fails the test on an error.
func mustLinkd(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	out, err := linkd(t, env, args...)
	if err != nil {
		t.Fatalf("linkd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var checkedLinks = regexp.MustCompile(`^ok: (\d+) links?, `)

// checkOK runs linkd check on db and returns how many links it counted.
func checkOK(t testing.TB, db string) int {
	t.Helper()
	out := mustLinkd(t, nil, "check", "--db", db)
	m := checkedLinks.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("linkd check --db %s: %q", db, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// load taps links and creates links on in until stop is closed, and
// counts both; any failure is kept in errs.
type load struct {
	taps, creates atomic.Int64
	mu            sync.Mutex
	errs          []error
}

func (ld *load) fail(err error) {
	ld.mu.Lock()
	ld.errs = append(ld.errs, err)
	ld.mu.Unlock()
}

func (ld *load) run(in *instance, codes []string, stop <-chan struct{},
	wg *sync.WaitGroup) {
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("GET",
				in.public+"/"+codes[i%len(codes)], nil)
			req.Header.Set("User-Agent", iPhone)
			if err := expect(req, http.StatusFound); err != nil {
				ld.fail(err)
				return
			}
			ld.taps.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"url":"https://x.test/during",`+
				`"campaignId":"load","phone":"+1555300%04d"}`, i%10000)
			req, _ := http.NewRequest("POST", in.admin+"/api/v1/links",
				strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			if err := expect(req, http.StatusCreated); err != nil {
				ld.fail(err)
				return
			}
			ld.creates.Add(1)
		}
	}()
}

// expect sends req and returns an error unless it is answered with want.
func expect(req *http.Request, want int) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d", req.Method, req.URL.Path,
			resp.StatusCode, want)
	}
	return nil
}

// TestBackupUnderLoad takes backups through the admin API while links
// are tapped and created, and checks that each restores to a database
// that linkd check passes and that serves the links made before it.
func TestBackupUnderLoad(t *testing.T) {
	in := start(t)
	items := make([]map[string]any, 2000)
	for i := range items {
		items[i] = map[string]any{"url": fmt.Sprintf("https://x.test/%d", i),
			"campaignId": "before", "phone": fmt.Sprintf("+1555200%04d", i)}
	}
	var batch struct{ Links []link }
	in.mustCall(201, "POST", "/api/v1/links/batch",
		map[string]any{"links": items}, &batch)
	codes := make([]string, len(batch.Links))
	for i, l := range batch.Links {
		codes[i] = l.Code
	}

	ld := &load{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	ld.run(in, codes[:50], stop, &wg)
	waitFor(t, "load", func() bool {
		return ld.taps.Load() > 20 && ld.creates.Load() > 20
	})
	env := map[string]string{"LINKD_ADMIN_URL": in.admin,
		"LINKD_ADMIN_TOKEN": testToken}
	var backups []string
	for i := range 3 {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("backup-%d.db", i))
		creates := ld.creates.Load()
		msg := mustLinkd(t, env, "backup", "--out", out)
		if !strings.HasPrefix(msg, "wrote ") {
			t.Errorf("linkd backup printed %q", msg)
		}
		if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s.tmp left behind: %v", out, err)
		}
		if n := checkOK(t, out); int64(n) < int64(len(codes))+creates {
			t.Errorf("backup %d holds %d links, want at least %d", i, n,
				int64(len(codes))+creates)
		}
		backups = append(backups, out)
	}
	close(stop)
	wg.Wait()
	for _, err := range ld.errs {
		t.Errorf("load: %v", err)
	}

	restored := startOn(t, backups[len(backups)-1])
	for _, i := range []int{0, 49, len(codes) - 1} {
		r := restored.tap("GET", "/"+codes[i], "")
		want := fmt.Sprintf("https://x.test/%d", i)
		if got := r.Header.Get("Location"); r.StatusCode != 302 || got != want {
			t.Errorf("restored %s: %d %q, want 302 %q", codes[i],
				r.StatusCode, got, want)
		}
	}
	var s struct{ Clicks int64 }
	restored.mustCall(200, "GET", "/api/v1/links/"+codes[0]+"/stats", nil, &s)
	if s.Clicks == 0 {
		t.Errorf("restored link %s counts no clicks", codes[0])
	}
}

// TestBackupOfStoppedFile copies a stopped linkd's file with --db, and
// refuses to while linkd runs on it.
func TestBackupOfStoppedFile(t *testing.T) {
	in := start(t)
	l := in.createLink("https://x.test/stopped", "c", "+15551230001")
	out := filepath.Join(t.TempDir(), "backup.db")

	// While linkd runs, --db and check point at the admin API.
	msg, err := linkd(t, nil, "backup", "--db", in.db, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "--admin-url") {
		t.Errorf("backup --db of a running linkd: %v\n%s", err, msg)
	}
	msg, err = linkd(t, nil, "check", "--db", in.db)
	if err == nil || !strings.Contains(err.Error(), "linkd backup") {
		t.Errorf("check of a running linkd's file: %v\n%s", err, msg)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused backup wrote %s: %v", out, err)
	}

	in.stop()
	mustLinkd(t, nil, "backup", "--db", in.db, "--out", out)
	if n := checkOK(t, out); n != 1 {
		t.Errorf("backup holds %d links, want 1", n)
	}
	restored := startOn(t, out)
	r := restored.tap("GET", "/"+l.Code, "")
	if got := r.Header.Get("Location"); got != "https://x.test/stopped" {
		t.Errorf("restored link: %d %q", r.StatusCode, got)
	}
}

func TestBackupRefusals(t *testing.T) {
	in := start(t)
	var key struct{ Key string }
	in.mustCall(201, "POST", "/api/v1/keys", map[string]any{"name": "k",
		"campaigns": []string{"c"}}, &key)
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(out, []byte("the last backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"no out", []string{"--admin-url", in.admin, "--admin-token",
			testToken}, "--out is required"},
		{"no token", []string{"--admin-url", in.admin, "--out", out},
			"--admin-token"},
		{"wrong token", []string{"--admin-url", in.admin, "--admin-token",
			"not-the-admin-token", "--out", out}, "401 Unauthorized"},
		{"campaign key", []string{"--admin-url", in.admin, "--admin-token",
			key.Key, "--out", out}, "403 Forbidden: This key may not do that."},
		{"public listener", []string{"--admin-url", in.public,
			"--admin-token", testToken, "--out", out}, "404"},
		{"not a url", []string{"--admin-url", "127.0.0.1:8081",
			"--admin-token", testToken, "--out", out}, "--admin-url"},
		{"db and url", []string{"--admin-url", in.admin, "--db", in.db,
			"--out", out}, "not both"},
		{"db is out", []string{"--db", out, "--out", out}, "itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := linkd(t, nil, append([]string{"backup"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q\n%s", err, tt.want, msg)
			}
			raw, _ := os.ReadFile(out)
			if string(raw) != "the last backup" {
				t.Errorf("refused backup changed %s", out)
			}
			if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s.tmp left behind: %v", out, err)
			}
		})
	}
}

// TestCheckReportsCorruption changes a link's code inside its two index
// keys in the stopped file, byte for byte, as a bad disk might: check
// names every entry that broke and fails.
func TestCheckReportsCorruption(t *testing.T) {
	in := start(t)
	in.mustCall(201, "POST", "/api/v1/links", map[string]any{
		"url": "https://x.test/", "campaignId": "flip",
		"phone": "+15550009999", "code": "flipme01"}, nil)
	in.stop()
	if n := checkOK(t, in.db); n != 1 {
		t.Fatalf("check before the damage counts %d links", n)
	}

	raw, err := os.ReadFile(in.db)
	if err != nil {
		t.Fatal(err)
	}
	was := []byte("+15550009999\x00flipme01")
	if bytes.Count(raw, was) == 0 {
		t.Fatal("index keys not found in the file")
	}
	raw = bytes.ReplaceAll(raw, was, []byte("+15550009999\x00flipme02"))
	if err := os.WriteFile(in.db, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := linkd(t, nil, "check", "--db", in.db)
	if err == nil || !strings.HasSuffix(err.Error(), ": 4 problems") {
		t.Errorf("check of a damaged file: %v", err)
	}
	want := []string{
		`links_by_campaign: link "flipme01" of campaign "flip" is not listed`,
		`links_by_phone: link "flipme01" is not listed under its phone`,
		`links_by_campaign: entry of campaign "flip" points at link ` +
			`"flipme02": link not found`,
		`links_by_phone: entry points at link "flipme02": link not found`,
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("check output (-want +got):\n%s", diff)
	}
}

// TestRetentionKeepsPendingDeliveries prunes a stopped linkd's file as of
// an hour from now: the delivered webhook goes, the one still being
// retried stays with its event, and the restarted linkd lists just that.
func TestRetentionKeepsPendingDeliveries(t *testing.T) {
	in := start(t, "--retry-initial", "1h")
	rc := newReceiver(t)
	up := in.register(rc, "ret")
	var down endpoint
	in.mustCall(201, "POST", "/api/v1/webhooks", map[string]any{
		"url": "http://" + freeAddr(t) + "/hook", "campaignId": "ret"}, &down)
	l := in.createLink("https://x.test/ret", "ret", "+15551230002")
	in.tap("GET", "/"+l.Code, "")
	rc.waitCount(1)
	waitFor(t, "both attempts", func() bool {
		return len(in.deliveriesOf(up.ID, "succeeded")) == 1 &&
			len(in.deliveriesOf(down.ID, "pending")) == 1 &&
			in.deliveriesOf(down.ID, "pending")[0].Attempts == 1
	})
	delivered := in.deliveriesOf(up.ID, "")[0]
	in.stop()

	db, err := store.Open(in.db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := db.Prune(ctx, time.Now().Add(time.Hour), 500)
	if err != nil || n < 1 {
		t.Errorf("Prune = %d, %v; want the delivered webhook at least", n,
			err)
	}
	if _, err := db.Delivery(ctx, delivered.ID); !errors.Is(err,
		emitter.ErrDeliveryNotFound) {
		t.Errorf("delivered webhook after Prune: %v", err)
	}
	r, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Deliveries != 1 || r.Events != 1 {
		t.Errorf("after Prune: %s %q; want ok, 1 delivery, 1 event", r,
			r.Problems)
	}
	db.Close()

	again := startOn(t, in.db)
	if ds := again.deliveriesOf(up.ID, ""); len(ds) != 0 {
		t.Errorf("delivered endpoint still lists %+v", ds)
	}
	ds := again.deliveriesOf(down.ID, "")
	if len(ds) != 1 || ds[0].Status != "pending" ||
		ds[0].EventID != delivered.EventID {
		t.Errorf("retried endpoint lists %+v, want its pending delivery "+
			"of %s", ds, delivered.EventID)
	}
}
