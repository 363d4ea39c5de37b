package shortener

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxURLLen is the longest destination accepted, in bytes, before and
// after normalisation: 8 KiB.
const MaxURLLen = 8 << 10

// Reason codes of the *InvalidError values returned by the validators.
const (
	codeMissingField  = "missing_field"
	codeInvalidURL    = "invalid_url"
	codeInvalidPhone  = "invalid_phone"
	codeInvalidCampID = "invalid_campaign_id"
	codeInvalidLeadID = "invalid_external_lead_id"
)

// Length limits of the identifiers that are not URLs: ids in bytes (they
// are ASCII), lead ids in characters.
const (
	maxIDLen     = 128
	maxLeadIDLen = 256
)

// NormalizeURL validates the destination raw and returns the form to store.
// It accepts only absolute http and https URLs (scheme in any case) with a
// host name or IP literal, an optional port from 1 to 65535 and no user
// info, of at most MaxURLLen bytes and without spaces, backslashes or ASCII
// control characters. Percent-encodings in the path and fragment must be
// well formed; the query is not inspected.
//
// An ASCII destination is returned byte for byte. One with non-ASCII bytes
// is normalised: a non-ASCII host becomes its punycode (IDNA lookup) form
// and every other non-ASCII byte is percent-encoded, so normalising the
// result again returns it unchanged.
//
// Errors are *InvalidError with Field set to field and Code missing_field
// when raw is empty, invalid_url otherwise.
func NormalizeURL(field, raw string) (string, error) {
	if raw == "" {
		return "", missing(field)
	}
	s := raw
	if !isASCII(raw) {
		var err error
		if s, err = normalizeURL(field, raw); err != nil {
			return "", err
		}
	}
	if err := checkURL(field, s); err != nil {
		return "", err
	}
	return s, nil
}

// normalizeURL rewrites a non-ASCII destination into ASCII, refusing what
// cannot be rewritten. The result still has to pass checkURL.
func normalizeURL(field, raw string) (string, error) {
	if err := checkURLBytes(field, raw); err != nil {
		return "", err
	}
	scheme, authority, rest, err := splitURL(field, raw)
	if err != nil {
		return "", err
	}

	host, port := splitHostPort(authority)
	if !isASCII(host) {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", badHost(field)
		}
		host = a
	}
	return scheme + "://" + host + port + escapeNonASCII(rest), nil
}

// checkURL applies every rule of NormalizeURL to the ASCII destination s.
func checkURL(field, s string) error {
	if err := checkURLBytes(field, s); err != nil {
		return err
	}
	_, authority, _, err := splitURL(field, s)
	if err != nil {
		return err
	}

	host, port := splitHostPort(authority)
	if host == "" {
		return invalidURL(field, "%s must have a host", field)
	}
	if !validHost(host) {
		return badHost(field)
	}
	if !validPort(port) {
		return invalidURL(field, "%s must have a port from 1 to 65535", field)
	}
	return checkParse(field, s, authority)
}

// checkURLBytes checks the length of s and refuses the bytes that are
// never allowed in a destination.
func checkURLBytes(field, s string) error {
	if len(s) > MaxURLLen {
		return invalidURL(field, "%s must be at most %d bytes", field,
			MaxURLLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return invalidURL(field, "%s must not contain spaces, "+
				"backslashes or control characters", field)
		}
	}
	return nil
}

// splitURL cuts s into its scheme as given, its authority and the rest
// (path, query and fragment), refusing anything but http:// and https://
// and an authority with user info.
func splitURL(field, s string) (scheme, authority, rest string, err error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if ok {
		rest, ok = strings.CutPrefix(rest, "//")
	}
	if !ok || !isHTTPScheme(scheme) {
		return "", "", "", invalidURL(field,
			"%s must be an absolute http or https URL", field)
	}

	i := strings.IndexAny(rest, "/?#")
	if i < 0 {
		i = len(rest)
	}
	authority, rest = rest[:i], rest[i:]
	if strings.Contains(authority, "@") {
		return "", "", "", invalidURL(field,
			"%s must not contain a user name or password", field)
	}
	return scheme, authority, rest, nil
}

// isHTTPScheme reports whether s is http or https in any ASCII case.
// Unicode case folding is deliberately not used: it folds 'ſ' to 's'.
func isHTTPScheme(s string) bool {
	return asciiEqualFold(s, "http") || asciiEqualFold(s, "https")
}

// splitHostPort cuts an authority into its host (brackets kept around an
// IPv6 literal) and the rest, which is empty or a colon and a port.
func splitHostPort(authority string) (host, port string) {
	i := strings.IndexByte(authority, ':')
	if strings.HasPrefix(authority, "[") {
		i = strings.IndexByte(authority, ']') + 1
		if i == 0 {
			i = len(authority)
		}
	}
	if i < 0 {
		return authority, ""
	}
	return authority[:i], authority[i:]
}

// validPort reports whether p is empty or a colon and a decimal port
// from 1 to 65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	digits, ok := strings.CutPrefix(p, ":")
	if !ok || digits == "" || len(digits) > 5 || !allDigits(digits) {
		return false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// checkParse makes sure net/url reads s as the same absolute URL, so that
// whoever parses the stored destination later gets no error.
func checkParse(field, s, authority string) error {
	u, err := url.Parse(s)
	var escErr url.EscapeError
	if errors.As(err, &escErr) {
		return invalidURL(field,
			"%s must not contain a malformed percent-encoding", field)
	}
	if err != nil || u.Opaque != "" || u.User != nil ||
		u.Host != authority || !isHTTPScheme(u.Scheme) {
		return invalidURL(field, "%s is not a valid URL", field)
	}
	return nil
}

// escapeNonASCII percent-encodes every byte of s at or above 0x80 and
// leaves the ASCII bytes as they are.
func escapeNonASCII(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// ValidatePhone checks that phone is an E.164 number: a '+' and 2 to 15
// digits, the first of them not 0. Errors are *InvalidError with Field set
// to field and Code missing_field when phone is empty, invalid_phone
// otherwise.
func ValidatePhone(field, phone string) error {
	if phone == "" {
		return missing(field)
	}
	d, ok := strings.CutPrefix(phone, "+")
	if !ok || len(d) < 2 || len(d) > 15 || d[0] == '0' || !allDigits(d) {
		return Invalid(codeInvalidPhone, field, "%s must be an E.164 "+
			"number: a + and 2 to 15 digits, like +14155550123", field)
	}
	return nil
}

// ValidateCampaignID checks that id is an ID (IsID). Errors are
// *InvalidError with Field set to field and Code missing_field when id is
// empty, invalid_campaign_id otherwise.
func ValidateCampaignID(field, id string) error {
	if id == "" {
		return missing(field)
	}
	if !IsID(id) {
		return Invalid(codeInvalidCampID, field, "%s must be %s", field,
			IDRule)
	}
	return nil
}

// IDRule says in words what IsID accepts.
const IDRule = "1 to 128 letters, digits, '_', '.', ':' or '-', " +
	"other than . and .."

// IsID reports whether id may name a campaign or a message: 1 to 128
// characters of [A-Za-z0-9_.:-], other than "." and "..", which would be
// path segments that URLs cannot address.
func IsID(id string) bool {
	ok := id != "" && len(id) <= maxIDLen && id != "." && id != ".."
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = isAlnum(c) || c == '_' || c == '.' || c == ':' || c == '-'
	}
	return ok
}

// ValidateExternalLeadID checks an optional lead id from the platform: at
// most 256 characters of valid UTF-8 without control characters (C0, DEL
// or C1). The empty id is valid. Errors are *InvalidError with Field set
// to field and Code invalid_external_lead_id.
func ValidateExternalLeadID(field, id string) error {
	ctl := strings.IndexFunc(id, unicode.IsControl) >= 0
	if ctl || !utf8.ValidString(id) {
		return Invalid(codeInvalidLeadID, field,
			"%s must be text without control characters", field)
	}
	if utf8.RuneCountInString(id) > maxLeadIDLen {
		return Invalid(codeInvalidLeadID, field,
			"%s must be at most %d characters", field, maxLeadIDLen)
	}
	return nil
}

// validHost reports whether the ASCII host h is a bracketed IPv6 literal
// without a zone, an IPv4 address in dotted-decimal form, or a host name.
func validHost(h string) bool {
	if inner, ok := strings.CutPrefix(h, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		a, err := netip.ParseAddr(inner)
		return ok && err == nil && a.Is6() && a.Zone() == ""
	}

	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	if numericLabel(last) {
		// Browsers read such a name as an IPv4 address, also in octal or
		// hex forms: only the plain dotted-decimal form is let through.
		a, err := netip.ParseAddr(name)
		return err == nil && a.Is4()
	}
	for label := range strings.SplitSeq(name, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

// numericLabel reports whether the WHATWG URL standard treats a final
// host label l as a number: decimal digits, or 0x and hex digits.
func numericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for i := 2; i < len(l); i++ {
			if !isHex(l[i]) {
				return false
			}
		}
		return true
	}
	return l != "" && allDigits(l)
}

// validLabel reports whether l is a DNS label of 1 to 63 letters, digits,
// hyphens and underscores that neither starts nor ends with a hyphen, and,
// if it is an xn-- label, whether it holds valid punycode. Underscores are
// not valid in host names but appear in real ones, and browsers take them.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	if len(l) >= 4 && asciiEqualFold(l[:4], "xn--") {
		_, err := idna.Lookup.ToASCII(l)
		return err == nil
	}
	return true
}

func missing(field string) *InvalidError {
	return Invalid(codeMissingField, field, "%s is required", field)
}

func invalidURL(field, format string, args ...any) *InvalidError {
	return Invalid(codeInvalidURL, field, format, args...)
}

func badHost(field string) *InvalidError {
	return invalidURL(field, "%s must have a valid host name or IP address",
		field)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether s and t are equal under ASCII case
// folding only.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lowerASCII(t[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
