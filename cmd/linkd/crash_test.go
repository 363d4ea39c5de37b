package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// buildLinkd builds the linkd binary into a temporary folder.
func buildLinkd(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "linkd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is linkd serve running as its own process.
type child struct {
	*instance
	cmd *exec.Cmd
}

// startChild runs bin serve on db as a child process.
func startChild(t testing.TB, bin, db string, args ...string) *child {
	t.Helper()
	all := append([]string{"serve", "--db", db, "--admin-token", testToken,
		"--public-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--webhook-allow-private"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{instance: &instance{t: t, db: db}, cmd: cmd}
	t.Cleanup(func() { c.kill() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			c.public, c.admin = m[1], m[2]
			go func() {
				for lines.Scan() {
				}
			}()
			return c
		}
	}
	t.Fatalf("linkd child did not start")
	return nil
}

// kill ends the child with SIGKILL and waits for it.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestKillNineLosesNoEvent taps links while the endpoint is down, kills
// linkd with SIGKILL right after the taps were answered, restarts it and
// brings the endpoint up: every answered tap's event arrives, each under
// one id.
func TestKillNineLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child process")
	}
	bin := buildLinkd(t)
	db := filepath.Join(t.TempDir(), "linkd.db")
	hookAddr := freeAddr(t)
	first := startChild(t, bin, db, "--retry-initial", "50ms")

	var ep endpoint
	first.mustCall(201, "POST", "/api/v1/webhooks", map[string]any{
		"url": "http://" + hookAddr + "/hook", "campaignId": "crash"}, &ep)
	const taps = 40
	items := make([]map[string]any, taps)
	for i := range items {
		items[i] = map[string]any{"url": "https://x.test/", "campaignId": "crash",
			"phone": fmt.Sprintf("+1555200%04d", i)}
	}
	var batch struct{ Links []link }
	first.mustCall(201, "POST", "/api/v1/links/batch", map[string]any{"links": items}, &batch)

	var mu sync.Mutex
	answered := make(map[string]bool)
	var wg sync.WaitGroup
	for _, l := range batch.Links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := first.tap("GET", "/"+l.Code, ""); r.StatusCode == 302 {
				mu.Lock()
				answered[first.public+"/"+l.Code] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	first.kill()
	if len(answered) != taps {
		t.Fatalf("%d of %d taps answered before the kill", len(answered), taps)
	}

	rc := newReceiverAt(t, hookAddr)
	rc.trust(ep.Secret)
	startChild(t, bin, db, "--retry-initial", "50ms")
	idsByURL := make(map[string]map[string]bool)
	waitFor(t, "every answered tap's event", func() bool {
		for _, d := range rc.deliveries() {
			short := parseEvent(t, d.Body).Data["shortUrl"]
			if idsByURL[short] == nil {
				idsByURL[short] = make(map[string]bool)
			}
			idsByURL[short][d.ID] = true
		}
		return len(idsByURL) >= taps
	})
	for short := range answered {
		if len(idsByURL[short]) != 1 {
			t.Errorf("%s: event ids %v", short, idsByURL[short])
		}
	}
	for _, d := range rc.deliveries() {
		if d.Verified != nil {
			t.Errorf("delivery %s: %v", d.ID, d.Verified)
		}
	}
}

// newReceiverAt starts a receiver listening on addr.
func newReceiverAt(t testing.TB, addr string) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("receiver on %s: %v", addr, err)
	}
	rc := &receiver{t: t}
	srv := &http.Server{Handler: http.HandlerFunc(rc.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rc.url = "http://" + addr + "/hook"
	return rc
}

func TestListenPrintsVerifiedEvents(t *testing.T) {
	in := start(t)
	addr := freeAddr(t)
	var ep endpoint
	in.mustCall(201, "POST", "/api/v1/webhooks", map[string]any{
		"url": "http://" + addr + "/", "campaignId": "c"}, &ep)

	out, errOut := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"listen", "--secret", ep.Secret,
			"--addr", addr}, noEnv, out, errOut)
	}()
	waitFor(t, "listener up", func() bool {
		return strings.Contains(errOut.String(), "listening")
	})
	l := in.createLink("https://x.test/?a=1&b=2", "c", "+15551230099")
	in.tap("GET", "/"+l.Code, "")
	waitFor(t, "printed event", func() bool {
		return strings.Contains(out.String(), "lead.link_clicked")
	})
	line := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.Contains(line, `"url":"https://x.test/?a=1&b=2"`) ||
		!strings.HasPrefix(line, `{"id":"evt_`) {
		t.Errorf("printed %q", line)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("listen: %v", err)
	}

	// A secret that is not one linkd makes is refused at start.
	bad := run(t.Context(), []string{"listen", "--secret", "nope"}, noEnv,
		out, errOut)
	if bad == nil || !strings.Contains(bad.Error(), "--secret") {
		t.Errorf("bad secret: %v", bad)
	}
}
