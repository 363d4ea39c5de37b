package emitter

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/akti/linkd/shortener"
)

// FuzzCheckURL checks that CheckURL never panics, returns only
// *shortener.InvalidError, and accepts only https URLs with a host and no
// user information. A guard whose resolver answers 10.0.0.1 for every name
// must accept numeric hosts alone.
func FuzzCheckURL(f *testing.F) {
	seeds := []string{
		"https://hooks.example.com/in", "http://hooks.example.com/",
		"https://user:pass@example.com/", "ftp://example.com/",
		"https://2130706433/", "https://0x7f.1/", "https://[::ffff:7f00:1]/",
		"https://[fe80::1%25eth0]:443/", "https://localhost./",
		"https://93.184.216.34/", "https:///x", "https://:443",
		"https:example.com", "HTTPS://A.localhost", "https://[::1",
		"https://a.example/\x00", "//example.com/", "",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	failing := &Guard{Resolver: &fakeResolver{}}
	private := &Guard{Resolver: resolverFunc(func(context.Context,
		string) ([]net.IPAddr, error) {
		return ipAddrs("10.0.0.1"), nil
	})}
	lax := &Guard{AllowPrivate: true, Resolver: &fakeResolver{}}

	f.Fuzz(func(t *testing.T, raw string) {
		ctx := context.Background()
		for _, g := range []*Guard{failing, private, lax} {
			u, err := g.CheckURL(ctx, "url", raw)
			if err != nil {
				checkInvalid(t, raw, err)
				continue
			}
			checkAccepted(t, g, raw, u.Scheme, u.Hostname(), u.User != nil)
			if g == private {
				ip, ok := ParseHost(u.Hostname())
				if !ok || !g.Allowed(ip) {
					t.Fatalf("accepted %q with its name at 10.0.0.1", raw)
				}
			}
		}
	})
}

func checkInvalid(t *testing.T, raw string, err error) {
	t.Helper()
	var ie *shortener.InvalidError
	if !errors.As(err, &ie) || ie.Field != "url" ||
		(ie.Code != "invalid_url" && ie.Code != "forbidden_address") {
		t.Fatalf("CheckURL(%q): unexpected error %#v", raw, err)
	}
}

func checkAccepted(t *testing.T, g *Guard, raw, scheme, host string,
	user bool) {
	t.Helper()
	okScheme := scheme == "https" || (g.AllowPrivate && scheme == "http")
	if !okScheme || host == "" || user || len(raw) > maxURLBytes {
		t.Fatalf("CheckURL accepted %q: scheme %q host %q user %v", raw,
			scheme, host, user)
	}
	if ip, ok := ParseHost(host); ok && !g.Allowed(ip) {
		t.Fatalf("CheckURL accepted %q with forbidden host %s", raw, ip)
	}
}

// FuzzParseHost checks that ParseHost never panics, that it agrees with
// netip.ParseAddr on canonical addresses, and that whatever it returns
// for an unbracketed host without a colon is IPv4.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0x7f000001",
		"0177.0.0.1", "127.1", "0x7f.1", "[::1]", "[::ffff:127.0.0.1]",
		"::ffff:7f00:1", "example.com", "1.2.3.4.", "08.1", "0x", "",
		"4294967296", "1.16777215", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got, ok := ParseHost(host)
		if ok && !got.IsValid() {
			t.Fatalf("ParseHost(%q) = invalid address, true", host)
		}
		if ok && !strings.ContainsAny(host, ":[") && !got.Is4() {
			t.Fatalf("ParseHost(%q) = %v, not IPv4", host, got)
		}

		want, err := netip.ParseAddr(host)
		if err != nil || want.String() != host {
			return
		}
		if !ok || got != want {
			t.Fatalf("ParseHost(%q) = %v, %v; netip says %v", host, got,
				ok, want)
		}
	})
}

// FuzzVerify checks that Verify never panics and accepts a delivery only
// if webhook-signature holds the entry Signature makes for it; and that
// such an entry, when the timestamp is within tolerance, is accepted.
func FuzzVerify(f *testing.F) {
	v := loadVectors(f)[0]
	f.Add(v.ID, strconv.FormatInt(v.Timestamp, 10), v.Signature,
		[]byte(v.Body))
	f.Add(v.ID, "1614265331", "v2,x "+v.Signature, []byte(v.Body))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "-1", "v1, v1,,", []byte("x"))
	f.Add("msg_1", "01614265330", v.Signature, []byte("{}"))
	now := time.Unix(v.Timestamp, 0)

	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(v.Secret, h, body, now, DefaultTolerance)
		if err != nil && !errors.Is(err, ErrMissingHeaders) &&
			!errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrSignature) {
			t.Fatalf("Verify: unexpected error %v", err)
		}

		n, perr := strconv.ParseInt(ts, 10, 64)
		if err == nil {
			want, _ := Signature(v.Secret, id, n, body)
			if perr != nil || !slices.Contains(strings.Fields(sig), want) {
				t.Fatalf("Verify accepted id %q ts %q sig %q body %q", id,
					ts, sig, body)
			}
		}
		if perr != nil || id == "" || strconv.FormatInt(n, 10) != ts ||
			!withinTolerance(n, now, DefaultTolerance) {
			return
		}
		good, _ := Signature(v.Secret, id, n, body)
		h.Set(HeaderSignature, sig+" "+good)
		if err := Verify(v.Secret, h, body, now, 0); err != nil {
			t.Fatalf("Verify of a good signature: %v", err)
		}
	})
}
