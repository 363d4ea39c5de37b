package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/akti/linkd/cmd/internal/adminapi"
)

const (
	token  = "crash-test-admin-token-0123"
	iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
		"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

// round runs one kill and restart on the database file db.
func round(ctx context.Context, c config, db string,
	killAfter time.Duration) (tally, error) {
	hook, err := freeAddr()
	if err != nil {
		return tally{}, err
	}
	first, err := startLinkd(c.linkd, db)
	if err != nil {
		return tally{}, err
	}
	defer first.kill()
	var ep struct{ Secret string }
	err = first.call("POST", "/api/v1/webhooks", map[string]any{
		"url": "http://" + hook + "/", "campaignId": "crash"}, &ep)
	if err != nil {
		return tally{}, err
	}
	n := c.rate*int(c.maxRun/time.Second+1) + c.rate
	codes, err := first.createLinks(n)
	if err != nil {
		return tally{}, err
	}

	answered := first.tapUntilKilled(codes, c.rate, killAfter)
	rc := newReceiver(ep.Secret)
	if err := rc.listen(hook); err != nil {
		return tally{}, err
	}
	defer rc.close()
	second, err := startLinkd(c.linkd, db)
	if err != nil {
		return tally{}, err
	}
	deadline := time.Now().Add(c.wait)
	for !rc.hasAll(second.public, answered) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t := rc.judge(second.public, answered)
	// The counters came back from the click journal: each answered tap's
	// link counts its one event, once.
	for _, code := range answered {
		var st struct{ Clicks, Events int }
		err := second.call("GET", "/api/v1/links/"+code+"/stats", nil, &st)
		if err != nil {
			return tally{}, err
		}
		if st.Clicks != 1 || st.Events != 1 {
			t.miscounted++
			if t.miscounted == 1 {
				fmt.Printf("link %s counts %d clicks and %d events, want 1 and 1\n",
					code, st.Clicks, st.Events)
			}
		}
	}
	second.stop()
	check := exec.Command(c.linkd, "check", "--db", db)
	if out, err := check.CombinedOutput(); err != nil {
		t.badChecks++
		fmt.Printf("linkd check: %v\n%s", err, out)
	}
	return t, nil
}

// child is a linkd serve process.
type child struct {
	cmd    *exec.Cmd
	public string
	api    adminapi.Client
	http   *http.Client
}

var listening = regexp.MustCompile(`redirects on (http://\S+), admin API on (http://\S+)`)

func startLinkd(bin, db string) (*child, error) {
	cmd := exec.Command(bin, "serve", "--db", db, "--admin-token", token,
		"--public-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--webhook-allow-private", "--retry-initial", "100ms",
		"--log-format", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, http: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			c.public = m[1]
			c.api = adminapi.Client{Base: m[2], Token: token, HTTP: c.http}
			go io.Copy(io.Discard, stdout)
			return c, nil
		}
	}
	c.kill()
	return nil, errors.New("linkd did not start")
}

// kill ends the child with SIGKILL and waits for it.
func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// stop ends the child with SIGTERM and waits for it.
func (c *child) stop() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGTERM)
		c.cmd.Wait()
	}
}

// call sends body to the admin API as the admin and decodes the answer
// into out.
func (c *child) call(method, path string, body, out any) error {
	return c.api.Call(context.Background(), method, path, body, out)
}

// createLinks makes n links of the crash campaign, one lead each.
func (c *child) createLinks(n int) ([]string, error) {
	var codes []string
	for len(codes) < n {
		items := make([]map[string]any, min(n-len(codes), 10000))
		for i := range items {
			items[i] = map[string]any{"url": "https://x.test/offer",
				"campaignId": "crash",
				"phone":      fmt.Sprintf("+1555%07d", len(codes)+i)}
		}
		var out struct{ Links []struct{ Code string } }
		err := c.call("POST", "/api/v1/links/batch",
			map[string]any{"links": items}, &out)
		if err != nil {
			return nil, err
		}
		for _, l := range out.Links {
			codes = append(codes, l.Code)
		}
	}
	return codes, nil
}

// tapUntilKilled taps each code once, at rate taps per second, kills the
// child after killAfter, and returns the codes answered with a 302.
func (c *child) tapUntilKilled(codes []string, rate int,
	killAfter time.Duration) []string {
	var mu sync.Mutex
	var answered []string
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	kill := time.After(killAfter)
	for _, code := range codes {
		select {
		case <-kill:
			c.kill()
			wg.Wait()
			return answered
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.tap(code) == http.StatusFound {
				mu.Lock()
				answered = append(answered, code)
				mu.Unlock()
			}
		}()
	}
	c.kill()
	wg.Wait()
	return answered
}

func (c *child) tap(code string) int {
	req, err := http.NewRequest("GET", c.public+"/"+code, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("User-Agent", iphone)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
