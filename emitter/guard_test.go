package emitter

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akti/linkd/shortener"
)

// fakeResolver answers from a table and counts lookups; names not in the
// table do not resolve. It never touches the network.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	lookups []string
}

func (r *fakeResolver) LookupIPAddr(_ context.Context,
	host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups = append(r.lookups, host)
	ips, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host,
			IsNotFound: true}
	}
	return ipAddrs(ips...), nil
}

// resolverFunc adapts a function to Resolver.
type resolverFunc func(ctx context.Context, host string) ([]net.IPAddr,
	error)

func (f resolverFunc) LookupIPAddr(ctx context.Context,
	host string) ([]net.IPAddr, error) {
	return f(ctx, host)
}

func ipAddrs(ss ...string) []net.IPAddr {
	out := make([]net.IPAddr, len(ss))
	for i, s := range ss {
		ip, zone, _ := strings.Cut(s, "%")
		out[i] = net.IPAddr{IP: net.ParseIP(ip), Zone: zone}
	}
	return out
}

// forbiddenAddrs lists one or more addresses of every refused block, in
// every form that should be refused.
var forbiddenAddrs = []string{
	"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255",
	"172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255",
	"169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.255",
	"0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1",
	"239.255.255.250", "240.0.0.1", "192.0.0.1", "192.0.0.170",
	"198.18.0.1", "198.19.255.255",
	"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0",
	"febf::1", "fec0::1", "ff02::1", "ff0e::1",
	"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
	"::ffff:0.0.0.0", "::ffff:192.168.1.1",
	"::127.0.0.1", "::10.0.0.1", "::169.254.169.254",
	"64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.1.2.3",
	"64:ff9b:1::1", "2002:7f00:1::1", "2002:a9fe:a9fe::",
}

var publicAddrs = []string{
	"93.184.216.34", "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0",
	"172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
	"192.167.255.255", "192.169.0.1", "169.253.255.255", "169.255.0.1",
	"198.17.255.255", "198.20.0.1", "192.0.1.1", "223.255.255.255",
	"1.0.0.0", "126.255.255.255", "128.0.0.1",
	"2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1",
	"::ffff:93.184.216.34", "::93.184.216.34", "64:ff9b::93.184.216.34",
	"2002:5db8:d822::1", "2001:db8::1",
}

func TestAllowed(t *testing.T) {
	var g Guard
	lax := Guard{AllowPrivate: true}
	check := func(addrs []string, want bool) {
		for _, s := range addrs {
			t.Run(s, func(t *testing.T) {
				ip := netip.MustParseAddr(s)
				if got := g.Allowed(ip); got != want {
					t.Errorf("Allowed(%s) = %v, want %v", ip, got, want)
				}
				if !lax.Allowed(ip) {
					t.Errorf("AllowPrivate: Allowed(%s) = false", ip)
				}
			})
		}
	}
	check(forbiddenAddrs, false)
	check(publicAddrs, true)

	if g.Allowed(netip.Addr{}) || lax.Allowed(netip.Addr{}) {
		t.Error("the zero netip.Addr is allowed")
	}
}

func TestParseHost(t *testing.T) {
	loop := netip.MustParseAddr("127.0.0.1")
	mapped := netip.MustParseAddr("::ffff:127.0.0.1")
	tests := []struct {
		host string
		want netip.Addr // the zero Addr: not numeric
	}{
		{"127.0.0.1", loop},
		{"2130706433", loop},
		{"0x7f000001", loop},
		{"0X7F000001", loop},
		{"0x00000007f000001", loop},
		{"017700000001", loop},
		{"0177.0.0.1", loop},
		{"0177.0000.0.01", loop},
		{"127.1", loop},
		{"127.0.1", loop},
		{"0x7f.1", loop},
		{"0x7f.0.0.0x1", loop},
		{"127.0.0.1.", loop},
		{"0", netip.MustParseAddr("0.0.0.0")},
		{"0x", netip.MustParseAddr("0.0.0.0")},
		{"169.16689662", netip.MustParseAddr("169.254.169.254")},
		{"1.256", netip.MustParseAddr("1.0.1.0")},
		{"4294967295", netip.MustParseAddr("255.255.255.255")},
		{"::1", netip.MustParseAddr("::1")},
		{"[::1]", netip.MustParseAddr("::1")},
		{"[::ffff:127.0.0.1]", mapped},
		{"[::ffff:7f00:1]", mapped},
		{"fe80::1%eth0", netip.MustParseAddr("fe80::1%eth0")},
		{"[2606:4700::1111]", netip.MustParseAddr("2606:4700::1111")},

		{"example.com", netip.Addr{}},
		{"localhost", netip.Addr{}},
		{"", netip.Addr{}},
		{".", netip.Addr{}},
		{"256.0.0.1", netip.Addr{}},
		{"1.256.0", netip.Addr{}},
		{"1.2.3.256", netip.Addr{}},
		{"1.2.65536", netip.Addr{}},
		{"1.16777216", netip.Addr{}},
		{"4294967296", netip.Addr{}},
		{"1.2.3.4.5", netip.Addr{}},
		{"08.0.0.1", netip.Addr{}},
		{"0x1g", netip.Addr{}},
		{"1..1", netip.Addr{}},
		{"127.0.0.1..", netip.Addr{}},
		{"-1", netip.Addr{}},
		{"+1", netip.Addr{}},
		{"1_000", netip.Addr{}},
		{" 127.0.0.1", netip.Addr{}},
		{"[not-an-ip]", netip.Addr{}},
		{"[::1", netip.Addr{}},
		{"1.2.3.4x", netip.Addr{}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := ParseHost(tt.host)
			if ok != tt.want.IsValid() || got != tt.want {
				t.Errorf("ParseHost(%q) = %v, %v; want %v", tt.host, got,
					ok, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	long := "https://hooks.example.com/"
	long += strings.Repeat("a", 2048-len(long))
	tests := []struct {
		name  string
		lax   bool // AllowPrivate
		raw   string
		code  string // "" for accepted
		field string
	}{
		{"https", false, "https://hooks.example.com/in?x=1", "", ""},
		{"https with port", false, "https://hooks.example.com:8443/", "", ""},
		{"upper-case scheme", false, "HTTPS://hooks.example.com/", "", ""},
		{"2048 bytes", false, long, "", ""},
		{"public IPv4", false, "https://93.184.216.34/in", "", ""},
		{"public IPv6", false, "https://[2606:4700::1111]:443/", "", ""},
		{"unresolvable name", false, "https://later.example/", "", ""},
		{"http", false, "http://hooks.example.com/", "invalid_url", ""},
		{"http allowed", true, "http://hooks.example.com/", "", ""},
		{"ftp", false, "ftp://hooks.example.com/", "invalid_url", ""},
		{"ftp allowed private", true, "ftp://hooks.example.com/",
			"invalid_url", ""},
		{"no scheme", false, "hooks.example.com/in", "invalid_url", ""},
		{"empty", false, "", "invalid_url", ""},
		{"no host", false, "https:///in", "invalid_url", ""},
		{"port only", false, "https://:443/in", "invalid_url", ""},
		{"opaque", false, "https:hooks.example.com", "invalid_url", ""},
		{"userinfo", false, "https://user:pass@hooks.example.com/",
			"invalid_url", ""},
		{"user only", false, "https://user@hooks.example.com/",
			"invalid_url", ""},
		{"userinfo allowed private", true, "http://u:p@hooks.example.com/",
			"invalid_url", ""},
		{"NUL", false, "https://hooks.example.com/\x00", "invalid_url", ""},
		{"newline", false, "https://hooks.example.com/\r\nX: y",
			"invalid_url", ""},
		{"tab", false, "https://hooks.example.com/\tx", "invalid_url", ""},
		{"DEL", false, "https://hooks.example.com/\x7f", "invalid_url", ""},
		{"C1 control", false, "https://hooks.example.com/\u0085",
			"invalid_url", ""},
		{"space", false, "https://hooks.example.com/a b", "invalid_url", ""},
		{"too long", false, long + "a", "invalid_url", ""},
		{"port 0", false, "https://hooks.example.com:0/", "invalid_url", ""},
		{"port 65536", false, "https://hooks.example.com:65536/",
			"invalid_url", ""},
		{"bad port", false, "https://hooks.example.com:x/", "invalid_url",
			""},
		{"bad IPv6", false, "https://[::ffff:0x7f.1]/", "invalid_url", ""},
		{"bad escape", false, "https://hooks.example.com/%zz",
			"invalid_url", ""},
		{"field passed on", false, "ftp://x", "invalid_url", "target"},

		{"name to private", false, "https://private.example/",
			"forbidden_address", ""},
		{"name to metadata", false, "https://metadata.example/",
			"forbidden_address", ""},
		{"name to mixed", false, "https://mixed.example/",
			"forbidden_address", ""},
		{"name to mapped loopback", false, "https://mapped.example/",
			"forbidden_address", ""},
		{"name to private, allowed", true, "https://private.example/", "",
			""},
		{"localhost", false, "https://localhost/", "forbidden_address", ""},
		{"LOCALHOST.", false, "https://LOCALHOST./", "forbidden_address",
			""},
		{"under localhost", false, "https://api.localhost:8443/",
			"forbidden_address", ""},
		{"localhost allowed", true, "http://localhost:8080/", "", ""},
		{"loopback", false, "https://127.0.0.1/", "forbidden_address", ""},
		{"decimal", false, "https://2130706433/", "forbidden_address", ""},
		{"hex", false, "https://0x7f000001/", "forbidden_address", ""},
		{"octal", false, "https://0177.0.0.1/", "forbidden_address", ""},
		{"short", false, "https://127.1/", "forbidden_address", ""},
		{"short hex", false, "https://0x7f.1/", "forbidden_address", ""},
		{"trailing dot", false, "https://127.0.0.1./", "forbidden_address",
			""},
		{"IPv6 loopback", false, "https://[::1]/", "forbidden_address", ""},
		{"mapped", false, "https://[::ffff:127.0.0.1]/",
			"forbidden_address", ""},
		{"mapped hex", false, "https://[::ffff:7f00:1]/",
			"forbidden_address", ""},
		{"NAT64", false, "https://[64:ff9b::a9fe:a9fe]/",
			"forbidden_address", ""},
		{"link-local zone", false, "https://[fe80::1%25eth0]/",
			"forbidden_address", ""},
		{"metadata", false, "https://169.254.169.254/latest/meta-data/",
			"forbidden_address", ""},
		{"private with port", false, "https://10.0.0.1:8443/",
			"forbidden_address", ""},
		{"unspecified", false, "https://0.0.0.0/", "forbidden_address", ""},
		{"zero", false, "https://0/", "forbidden_address", ""},
		{"loopback allowed", true, "https://127.0.0.1:8443/", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResolver{answers: map[string][]string{
				"hooks.example.com": {"93.184.216.34", "2606:4700::1111"},
				"private.example":   {"10.0.0.1"},
				"metadata.example":  {"169.254.169.254"},
				"mixed.example":     {"93.184.216.34", "192.168.1.1"},
				"mapped.example":    {"::ffff:127.0.0.1"},
			}}
			g := &Guard{AllowPrivate: tt.lax, Resolver: r}
			field := tt.field
			if field == "" {
				field = "url"
			}
			u, err := g.CheckURL(t.Context(), field, tt.raw)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q): %v", tt.raw, err)
				}
				if u.String() != tt.raw && !strings.HasPrefix(tt.raw,
					"HTTPS") {
					t.Errorf("URL %q, want %q", u, tt.raw)
				}
				return
			}
			var ie *shortener.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("CheckURL(%q) = %v, %v; want InvalidError", tt.raw,
					u, err)
			}
			got := [2]string{ie.Code, ie.Field}
			if diff := cmp.Diff([2]string{tt.code, field}, got); diff != "" {
				t.Errorf("code, field (-want +got):\n%s", diff)
			}
			for _, host := range r.lookups {
				if strings.Contains(host, "localhost") {
					t.Errorf("looked up %q", host)
				}
			}
		})
	}
}

func TestCheckURLResolverTimeout(t *testing.T) {
	var deadline time.Time
	r := resolverFunc(func(ctx context.Context, host string) ([]net.IPAddr,
		error) {
		deadline, _ = ctx.Deadline()
		return nil, context.DeadlineExceeded
	})
	g := &Guard{Resolver: r}
	start := time.Now()
	_, err := g.CheckURL(t.Context(), "url", "https://slow.example/")
	if err != nil {
		t.Fatalf("CheckURL: %v", err)
	}
	end := time.Now()
	if deadline.Before(start.Add(resolveTimeout)) ||
		deadline.After(end.Add(resolveTimeout)) {
		t.Errorf("lookup deadline %v after start, want %v", deadline.Sub(start),
			resolveTimeout)
	}
}

// listenLoopback starts a TCP listener on 127.0.0.1 and returns it and
// its port.
func listenLoopback(t *testing.T) (*net.TCPListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln.(*net.TCPListener), port
}

// assertNoConnection fails t if a connection reached ln.
func assertNoConnection(t *testing.T, ln *net.TCPListener) {
	t.Helper()
	err := ln.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err == nil {
		conn.Close()
		t.Fatal("the listener accepted a connection")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("accept: %v, want a timeout", err)
	}
}

// TestDialContextRebinding registers a name that resolves to a public
// address, then has it resolve to loopback at dial time, where a listener
// of the test's own waits: the dial must be refused before it connects.
func TestDialContextRebinding(t *testing.T) {
	ln, port := listenLoopback(t)
	var mu sync.Mutex
	calls := 0
	r := resolverFunc(func(_ context.Context, host string) ([]net.IPAddr,
		error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return ipAddrs("93.184.216.34"), nil
		}
		return ipAddrs("127.0.0.1"), nil
	})
	g := &Guard{Resolver: r}

	if _, err := g.CheckURL(t.Context(), "url",
		"https://rebind.example:"+port+"/"); err != nil {
		t.Fatalf("CheckURL: %v", err)
	}
	if calls != 1 {
		t.Fatalf("CheckURL made %d lookups, want 1", calls)
	}

	conn, err := g.DialContext(t.Context(), "tcp", "rebind.example:"+port)
	if err == nil {
		conn.Close()
		t.Fatal("DialContext connected to a rebound loopback address")
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("DialContext: error %v, want ErrForbiddenAddress", err)
	}
	assertNoConnection(t, ln)
}

// TestDialContextRefused dials forms of loopback, where only the test's
// own listener can be, with the guard on.
func TestDialContextRefused(t *testing.T) {
	ln, port := listenLoopback(t)
	r := &fakeResolver{answers: map[string][]string{
		"loop.example":   {"127.0.0.1"},
		"mapped.example": {"::ffff:127.0.0.1"},
	}}
	g := &Guard{Resolver: r}
	hosts := []string{"127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1",
		"127.1", "[::ffff:127.0.0.1]", "loop.example", "mapped.example",
		"localhost", "x.localhost"}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			conn, err := g.DialContext(t.Context(), "tcp",
				net.JoinHostPort(strings.Trim(host, "[]"), port))
			if err == nil {
				conn.Close()
				t.Fatal("DialContext connected")
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("error %v, want ErrForbiddenAddress", err)
			}
		})
	}
	assertNoConnection(t, ln)
	if diff := cmp.Diff([]string{"loop.example", "mapped.example"},
		r.lookups); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

func TestDialContextErrors(t *testing.T) {
	g := &Guard{AllowPrivate: true, Resolver: &fakeResolver{}}
	tests := []struct{ network, addr string }{
		{"tcp", "127.0.0.1"},
		{"tcp", "127.0.0.1:http"},
		{"tcp", "127.0.0.1:70000"},
		{"udp", "127.0.0.1:53"},
		{"unix", "/tmp/sock"},
		{"tcp", "nowhere.example:443"},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.addr, func(t *testing.T) {
			conn, err := g.DialContext(t.Context(), tt.network, tt.addr)
			if err == nil {
				conn.Close()
				t.Fatal("DialContext: no error")
			}
		})
	}
}

// TestControl checks the dialer's Control function directly, so that
// no socket is ever aimed at a non-loopback address.
func TestControl(t *testing.T) {
	var g Guard
	lax := Guard{AllowPrivate: true}
	for _, s := range append(forbiddenAddrs, publicAddrs...) {
		addr := netip.AddrPortFrom(netip.MustParseAddr(s), 443).String()
		want := !g.Allowed(netip.MustParseAddr(s))
		if err := g.control("tcp", addr, nil); (err != nil) != want ||
			(err != nil && !errors.Is(err, ErrForbiddenAddress)) {
			t.Errorf("control(%q) = %v, want refused %v", addr, err, want)
		}
		if err := lax.control("tcp", addr, nil); err != nil {
			t.Errorf("AllowPrivate: control(%q) = %v", addr, err)
		}
	}
	if err := g.control("tcp", "not an address", nil); !errors.Is(err,
		ErrForbiddenAddress) {
		t.Errorf("control(unparsable) = %v, want ErrForbiddenAddress", err)
	}
}

// TestDialContextAllowPrivate dials the test's own loopback listener with
// the guard off, by number and by a name the fake resolver answers.
func TestDialContextAllowPrivate(t *testing.T) {
	ln, port := listenLoopback(t)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte("ok"))
			conn.Close()
		}
	}()
	r := &fakeResolver{answers: map[string][]string{
		"dev.example": {"127.0.0.1"},
	}}
	g := &Guard{AllowPrivate: true, Resolver: r}
	for _, host := range []string{"127.0.0.1", "0x7f.1", "dev.example"} {
		t.Run(host, func(t *testing.T) {
			conn, err := g.DialContext(t.Context(), "tcp",
				net.JoinHostPort(host, port))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(conn)
			if err != nil || string(got) != "ok" {
				t.Errorf("read %q, %v; want \"ok\"", got, err)
			}
		})
	}
}

// TestDialContextTransport sends a signed webhook through an
// http.Transport dialling with the guard, as the emitter does.
func TestDialContextTransport(t *testing.T) {
	secret := testSecret(t, 11)
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			err := Verify(secret, r.Header, body, time.Now(), 0)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]

	r := &fakeResolver{answers: map[string][]string{
		"hooks.example": {"127.0.0.1"},
	}}
	for _, lax := range []bool{true, false} {
		t.Run("AllowPrivate="+strconv.FormatBool(lax), func(t *testing.T) {
			g := &Guard{AllowPrivate: lax, Resolver: r}
			tr := &http.Transport{DialContext: g.DialContext}
			t.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			url := "http://hooks.example:" + port + "/in"
			if !lax {
				resp, err := c.Post(url, "application/json", nil)
				if err == nil {
					resp.Body.Close()
				}
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Errorf("guarded POST: error %v, want forbidden", err)
				}
				return
			}
			if got := postSigned(t, c, url, secret, []byte("{}"),
				[]byte("{}")); got != http.StatusNoContent {
				t.Errorf("status %d, want 204", got)
			}
		})
	}
}

// TestCheckURLUnicodeHosts refuses hosts that become loopback once a
// resolver maps them to ASCII.
func TestCheckURLUnicodeHosts(t *testing.T) {
	g := &Guard{Resolver: resolverFunc(func(context.Context, string) ([]net.IPAddr, error) {
		return nil, errors.New("no DNS in tests")
	})}
	for _, raw := range []string{"https://１２７.０.０.１/", "https://127.0.0.1。/",
		"https://ⓛocalhost/", "https://localhost。/", "https://LOCALHOST．/",
		"https://loca\u00adlhost/"} {
		_, err := g.CheckURL(context.Background(), "url", raw)
		var inv *shortener.InvalidError
		if !errors.As(err, &inv) || inv.Code != "forbidden_address" {
			t.Errorf("CheckURL(%q) = %v, want forbidden_address", raw, err)
		}
	}
}
