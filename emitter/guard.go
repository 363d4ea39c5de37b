package emitter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/idna"

	"github.com/akti/linkd/shortener"
)

// ErrForbiddenAddress reports an address the guard refuses: loopback,
// private, link-local, unique-local, multicast, unspecified, reserved or
// cloud-metadata, in any of its IPv4 or IPv6 forms.
var ErrForbiddenAddress = errors.New("forbidden address")

const (
	maxURLBytes    = 2048
	resolveTimeout = 2 * time.Second
	dialTimeout    = 5 * time.Second
)

// Resolver is what the guard needs to resolve host names.
// net.DefaultResolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Guard checks webhook URLs when they are registered and outbound
// addresses when they are dialled, so that subscribers cannot aim webhooks
// at linkd's own network. AllowPrivate turns off the address checks and
// allows plain http (development and tests). Resolver resolves host
// names; nil means net.DefaultResolver. The zero value guards everything.
// A Guard is safe for concurrent use if its Resolver is.
type Guard struct {
	AllowPrivate bool
	Resolver     Resolver
}

// CheckURL validates an endpoint URL at registration and returns it
// parsed. The URL must be at most 2048 bytes without control characters
// or spaces, use https (or http when AllowPrivate), have a host and no
// user information. Unless AllowPrivate, the host must not be localhost,
// a forbidden address written in any numeric form, or a name resolving to
// one; a name that does not resolve is accepted, since DialContext checks
// again. Errors are *shortener.InvalidError for field with code
// invalid_url or forbidden_address.
func (g *Guard) CheckURL(ctx context.Context, field, raw string) (*url.URL,
	error) {
	u, msg := g.parseURL(raw)
	if msg != "" {
		return nil, shortener.Invalid("invalid_url", field, "%s", msg)
	}
	if !g.AllowPrivate && !g.hostAllowed(ctx, u.Hostname()) {
		return nil, shortener.Invalid("forbidden_address", field,
			"must not point to a loopback, private or internal address")
	}
	return u, nil
}

// parseURL parses raw as an endpoint URL, or says what is wrong with it.
func (g *Guard) parseURL(raw string) (*url.URL, string) {
	switch {
	case raw == "":
		return nil, "must not be empty"
	case len(raw) > maxURLBytes:
		return nil, fmt.Sprintf("must be at most %d bytes", maxURLBytes)
	case strings.ContainsFunc(raw, isControlOrSpace):
		return nil, "must not contain control characters or spaces"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "is not a valid URL"
	}
	host := u.Hostname()
	switch {
	case g.AllowPrivate && u.Scheme != "https" && u.Scheme != "http":
		return nil, "must use http or https"
	case !g.AllowPrivate && u.Scheme != "https":
		return nil, "must use https"
	case u.Opaque != "" || host == "":
		return nil, "must have a host"
	case u.User != nil:
		return nil, "must not contain a user name or password"
	case strings.Contains(host, ":") && !isIP(host):
		return nil, "has an invalid IPv6 address"
	case !validPort(u.Port()):
		return nil, "has an invalid port"
	}
	return u, ""
}

// hostAllowed reports whether host, a numeric address or a name, passes
// the registration check.
func (g *Guard) hostAllowed(ctx context.Context, host string) bool {
	// Resolvers and HTTP clients map Unicode hosts (fullwidth digits,
	// ideographic dots, ⓛocalhost) to ASCII first; check what they dial.
	if !isASCII(host) {
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return false
		}
		host = ascii
	}
	if ip, ok := ParseHost(host); ok {
		return g.Allowed(ip)
	}
	if isLocalhost(host) {
		return false
	}

	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := g.resolver().LookupIPAddr(ctx, host)
	if err != nil {
		// DNS may be unreachable from here or the name set up later;
		// DialContext checks every address actually dialled.
		return true
	}
	for _, a := range addrs {
		ip, ok := fromIPAddr(a)
		if !ok || !g.Allowed(ip) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Allowed reports whether ip may be dialled. Unless AllowPrivate, it
// refuses loopback, private, shared (100.64/10), link-local, unique-local,
// site-local, multicast, unspecified, broadcast and reserved addresses,
// 192.0.0.0/24 and 198.18.0.0/15, and IPv6 forms embedding a refused IPv4
// address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4). An
// invalid ip is never allowed.
func (g *Guard) Allowed(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	return g.AllowPrivate || publicAddr(ip)
}

// DialContext dials addr, "host:port" with a numeric port, over a TCP
// network, for use as http.Transport.DialContext. It takes the host's
// addresses from ParseHost or the Resolver and tries each in turn; the
// dialer's Control function checks the address of every socket before it
// connects, so a name re-pointed after CheckURL (DNS rebinding) is still
// refused. Refusals are errors wrapping ErrForbiddenAddress.
func (g *Guard) DialContext(ctx context.Context, network,
	addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s: unsupported network", network)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: invalid port", addr)
	}
	ips, err := g.lookup(ctx, host)
	if err != nil {
		return nil, err
	}

	d := net.Dialer{Timeout: dialTimeout, Control: g.control}
	var errs []error
	for _, ip := range ips {
		target := netip.AddrPortFrom(ip, uint16(port)).String()
		conn, err := d.DialContext(ctx, network, target)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// lookup returns the addresses to dial for host.
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr,
	error) {
	if ip, ok := ParseHost(host); ok {
		return []netip.Addr{ip}, nil
	}
	if !g.AllowPrivate && isLocalhost(host) {
		return nil, fmt.Errorf("dial %s: %w", host, ErrForbiddenAddress)
	}

	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	addrs, err := g.resolver().LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	ips := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if ip, ok := fromIPAddr(a); ok {
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("lookup %s: no addresses", host)
	}
	return ips, nil
}

// control is the dialer's Control function: it runs after the socket is
// made and before it connects, and refuses a forbidden remote address.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.Allowed(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

func (g *Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// ParseHost parses a host written as an address: an IPv6 literal, with or
// without brackets, or IPv4 in any form inet_aton accepts (one to four
// dot-separated parts, each decimal, octal with a leading 0 or hex with
// 0x, the last filling the remaining bytes, as in "127.1" or
// "2130706433"), with an optional final dot. It returns ok false for host
// names.
func ParseHost(host string) (netip.Addr, bool) {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		ip, err := netip.ParseAddr(host[1 : len(host)-1])
		return ip, err == nil
	}
	if strings.Contains(host, ":") {
		ip, err := netip.ParseAddr(host)
		return ip, err == nil
	}
	return parseIPv4(strings.TrimSuffix(host, "."))
}

// parseIPv4 parses s the way inet_aton does.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var n uint64
	for i, p := range parts {
		v, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		shift := 8 * (3 - i)
		if i == len(parts)-1 {
			shift = 0
		}
		if v >= 1<<(32-8*i-shift) {
			return netip.Addr{}, false
		}
		n |= v << shift
	}
	b := [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return netip.AddrFrom4(b), true
}

// parseIPv4Part parses one part of an inet_aton address: hex after 0x,
// octal after a leading 0, decimal otherwise.
func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	v, err := strconv.ParseUint(p, base, 32)
	return v, err == nil
}

// The address blocks Allowed refuses. They are never modified.
var (
	forbiddenV4 = prefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10",
		"127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
		"192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4")
	forbiddenV6 = prefixes("::/128", "::1/128", "64:ff9b:1::/48",
		"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8")
)

// IPv6 blocks whose addresses embed an IPv4 address.
var (
	compatV4 = netip.MustParsePrefix("::/96")
	nat64V4  = netip.MustParsePrefix("64:ff9b::/96")
	sixToV4  = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// publicAddr reports whether ip lies outside every forbidden block.
func publicAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is6() && inAny(forbiddenV6, ip) {
		return false
	}
	if v4, ok := embeddedV4(ip); ok {
		ip = v4
	}
	return !ip.Is4() || !inAny(forbiddenV4, ip)
}

// embeddedV4 returns the IPv4 address an IPv6 address carries.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	b := ip.As16()
	switch {
	case !ip.Is6():
		return netip.Addr{}, false
	case compatV4.Contains(ip), nat64V4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToV4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

func inAny(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// fromIPAddr converts a resolver answer to a netip.Addr.
func fromIPAddr(a net.IPAddr) (netip.Addr, bool) {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(a.Zone), true
}

// isLocalhost reports whether host is localhost or a name under it.
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimRight(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

func isControlOrSpace(r rune) bool {
	return r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}
