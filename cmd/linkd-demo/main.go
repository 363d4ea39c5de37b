// Command linkd-demo shows linkd's main job on real input: it starts a
// linkd and a `linkd listen` receiver on loopback, registers the receiver
// as a webhook endpoint, creates per-lead links, taps them as phones and
// preview bots would, and prints the verified events that arrive.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/akti/linkd/cmd/internal/adminapi"
)

const token = "demo-admin-token-0123456789"

func main() {
	bin := flag.String("linkd", "bin/linkd", "the linkd binary")
	flag.Parse()
	if err := run(*bin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "linkd-demo:", err)
		os.Exit(1)
	}
}

// demo holds the running parts.
type demo struct {
	out      io.Writer
	api      adminapi.Client
	public   string
	events   chan string
	children []*exec.Cmd
}

// stop ends the demo's processes gracefully and waits for them.
func (d *demo) stop() {
	for _, c := range d.children {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
	}
}

func run(bin string, out io.Writer) error {
	dir, err := os.MkdirTemp("", "linkd-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d := &demo{out: out, events: make(chan string, 16)}
	defer d.stop()
	if err := d.startLinkd(bin, dir+"/linkd.db"); err != nil {
		return err
	}
	hook, err := freeAddr()
	if err != nil {
		return err
	}
	var ep struct{ ID, Secret string }
	err = d.call("POST", "/api/v1/webhooks", map[string]any{
		"url": "http://" + hook + "/", "campaignId": "spring-sale"}, &ep)
	if err != nil {
		return err
	}
	d.say("registered webhook %s -> http://%s/ (secret %s…)", ep.ID, hook,
		ep.Secret[:12])
	if err := d.startListen(bin, ep.Secret, hook); err != nil {
		return err
	}
	return d.script()
}

// script creates the links, taps them and shows what arrived.
func (d *demo) script() error {
	var batch struct {
		Links []struct{ Code, ShortURL, Phone string }
	}
	leads := []map[string]any{
		{"url": "https://shop.example/spring?utm_source=sms", "campaignId": "spring-sale",
			"phone": "+15550100001", "externalLeadId": "lead-ann"},
		{"url": "https://shop.example/spring?utm_source=sms", "campaignId": "spring-sale",
			"phone": "+15550100002", "externalLeadId": "lead-bob"},
		{"url": "https://shop.example/spring?utm_source=sms", "campaignId": "spring-sale",
			"phone": "+15550100003"},
	}
	err := d.call("POST", "/api/v1/links/batch", map[string]any{"links": leads}, &batch)
	if err != nil {
		return err
	}
	ann, bob, cat := batch.Links[0], batch.Links[1], batch.Links[2]
	d.say("created %d per-lead links: %s %s %s", len(batch.Links),
		ann.ShortURL, bob.ShortURL, cat.ShortURL)

	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
		"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	const preview = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) " +
		"AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 " +
		"facebookexternalhit/1.1 Facebot Twitterbot/1.0"
	steps := []struct{ who, code, agent string }{
		{"iMessage preview of Ann's link", ann.Code, preview},
		{"Ann taps her link", ann.Code, iphone},
		{"Ann taps again within 30 s", ann.Code, iphone},
		{"Ann taps a third time", ann.Code, iphone},
		{"Bob taps his link", bob.Code, iphone},
		{"a preview bot fetches Cat's link", cat.Code, "facebookexternalhit/1.1"},
	}
	for _, s := range steps {
		status, loc, err := d.tap(s.code, s.agent)
		if err != nil {
			return err
		}
		d.say("%-34s -> %d %s", s.who, status, loc)
	}

	d.say("verified webhooks received by `linkd listen`:")
	for range 2 {
		select {
		case line := <-d.events:
			fmt.Fprintln(d.out, "  "+line)
		case <-time.After(10 * time.Second):
			return errors.New("timed out waiting for webhooks")
		}
	}
	if err := d.funnel(); err != nil {
		return err
	}
	for _, l := range []struct{ who, code string }{{"Ann", ann.Code},
		{"Bob", bob.Code}, {"Cat", cat.Code}} {
		var st struct{ Clicks, BotClicks, Events int }
		if err := d.waitStats(l.code, &st); err != nil {
			return err
		}
		d.say("%s: clicks %d, bot visits %d, events %d", l.who, st.Clicks,
			st.BotClicks, st.Events)
	}
	return nil
}

// funnel walks one lead through the whole message lifecycle: the body is
// shortened, reported sent and delivered, then tapped.
func (d *demo) funnel() error {
	d.say("the funnel for one lead, Dee:")
	var short struct {
		Body  string
		Links []struct{ Code string }
	}
	err := d.call("POST", "/api/v1/messages/shorten", map[string]any{
		"campaignId": "spring-sale", "phone": "+15550100004",
		"externalLeadId": "lead-dee",
		"body":           "Hi Dee 🌷 our spring sale is on: https://shop.example/spring?utm_source=sms"}, &short)
	if err != nil {
		return err
	}
	d.say("shortened body: %s", short.Body)
	var sent struct{ ID string }
	err = d.call("POST", "/api/v1/messages", map[string]any{
		"campaignId": "spring-sale", "phone": "+15550100004",
		"externalLeadId": "lead-dee", "body": short.Body}, &sent)
	if err != nil {
		return err
	}
	d.say("reported sent as %s", sent.ID)
	var rcpt map[string]any
	if err := d.call("POST", "/api/v1/messages/"+sent.ID+"/delivered", map[string]any{}, &rcpt); err != nil {
		return err
	}
	d.say("delivery receipt recorded")
	const android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
	status, loc, err := d.tap(short.Links[0].Code, android)
	if err != nil {
		return err
	}
	d.say("Dee taps it -> %d %s", status, loc)
	d.say("the four verified funnel events:")
	for range 4 {
		select {
		case line := <-d.events:
			fmt.Fprintln(d.out, "  "+line)
		case <-time.After(10 * time.Second):
			return errors.New("timed out waiting for the funnel's webhooks")
		}
	}
	return nil
}

// waitStats reads a link's counters once the background fold landed.
func (d *demo) waitStats(code string, st any) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var raw map[string]any
		if err := d.call("GET", "/api/v1/links/"+code+"/stats", nil, &raw); err != nil {
			return err
		}
		if raw["clicks"].(float64)+raw["botClicks"].(float64) > 0 ||
			time.Now().After(deadline) {
			b, _ := json.Marshal(raw)
			return json.Unmarshal(b, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "==> "+format+"\n", args...)
}

var listening = regexp.MustCompile(`redirects on (http://\S+), admin API on (http://\S+)`)

func (d *demo) startLinkd(bin, db string) error {
	cmd := exec.Command(bin, "serve", "--db", db,
		"--admin-token", token, "--public-addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--webhook-allow-private",
		"--log-format", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	d.children = append(d.children, cmd)
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			d.public = m[1]
			d.api = adminapi.Client{Base: m[2], Token: token, HTTP: noRedirect}
			d.say("linkd is up: redirects on %s, admin API on %s", d.public,
				d.api.Base)
			go io.Copy(io.Discard, stdout)
			return nil
		}
	}
	return errors.New("linkd did not start")
}

func (d *demo) startListen(bin, secret, addr string) error {
	cmd := exec.Command(bin, "listen", "--secret", secret, "--addr", addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	d.children = append(d.children, cmd)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			d.events <- lines.Text()
		}
	}()
	first := bufio.NewScanner(stderr)
	if !first.Scan() || !strings.Contains(first.Text(), "listening") {
		return errors.New("linkd listen did not start")
	}
	go io.Copy(os.Stderr, stderr)
	return nil
}

var noRedirect = &http.Client{
	Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func (d *demo) tap(code, agent string) (int, string, error) {
	req, err := http.NewRequest("GET", d.public+"/"+code, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", agent)
	resp, err := noRedirect.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// call sends body to the admin API as the admin and decodes the answer
// into out.
func (d *demo) call(method, path string, body, out any) error {
	return d.api.Call(context.Background(), method, path, body, out)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
