package tracker

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/xurls/v2"
)

// Span is one URL found in a message: Text is exactly body[Start:End], where
// Start and End are byte offsets into the body.
type Span struct {
	Text       string
	Start, End int
}

// URLFinder finds the URLs in SMS bodies, for lead.link_sent. It starts from
// the relaxed matcher of mvdan.cc/xurls/v2 and then applies rules for what
// SMS texts hold:
//
//   - Only web links count: http and https URLs, and links without a scheme
//     (www.x.com, domain.tld/path). Email addresses, mailto:, tel:, sms: and
//     every other scheme are not URLs here.
//   - Trailing punctuation (. , ! ? ; : ' " * @ \) is not part of a URL,
//     nor is a bracket that closes nothing: "(https://x.test/a)" gives
//     https://x.test/a, while https://en.wikipedia.org/wiki/Go_(language)
//     keeps its balanced ")". An opening bracket that is never closed ends
//     the URL too.
//   - A non-ASCII rune that is not a letter, mark or digit ends a URL:
//     emoji, CJK punctuation (。，！【】), "…", «», curly quotes, no-break
//     and zero-width spaces, bidi marks. So do emoji variation selectors
//     and keycaps (x.test/a1️⃣ gives x.test/a).
//   - Text in another script glued to a link: a letter or digit of a
//     script other than Latin ends a URL when it follows an ASCII letter,
//     digit or punctuation mark, so 点击https://link.akti.fyi/abc123查看
//     gives https://link.akti.fyi/abc123. It does not end it after a
//     separator ("/", "-", "_", "=", "&", "?", "#", "+", "~", "(", "[",
//     "{", ":", "@", "%", and "." within the host), so IDN hosts
//     (https://bücher.de/x, пример.рф) and non-ASCII path segments
//     (https://ru.wikipedia.org/wiki/Москва) stay whole. Latin letters
//     with diacritics never end a URL. For a link without a scheme, a
//     switch from such a script to ASCII starts it: 点击link.akti.fyi/a
//     gives link.akti.fyi/a.
//   - An apostrophe followed by one to three letters at the very end is a
//     suffix, as in Turkish (x.test/kampanya'ya) or English ('s), and is
//     dropped.
//   - A link without a scheme on an IP address is a URL only when its host
//     and port are the short host (so 127.0.0.1:8080/abc is found when that
//     is the short host); bare IPv6-looking text never is.
//   - Links on the short host are cut after the code: its first path
//     segment holds only [A-Za-z0-9_-] and may be followed only by "/",
//     "?" or "#", so link.akti.fyi/abc123'e or link.akti.fyi/abc123.Next
//     give link.akti.fyi/abc123.
//
// Limitations: text glued to a URL in the same script cannot be told apart
// from it. https://x.test/aVisit and https://x.test/wiki/МоскваПодробнее
// are taken whole, and so is 点击例子.中国, an IDN host glued to Chinese
// text. A word glued to a link without a scheme
// in Latin script (Visitwww.x.com) becomes part of its host. A sentence
// with no space after its full stop can read as a domain (end.Com) when
// the word after it is a top-level domain. Matching costs up to about 5
// µs per byte of dense dotted text (a.a.a...), so bodies should be capped
// at a sane size before they reach Find.
//
// The zero value is a finder with no short host. A URLFinder is safe for
// concurrent use.
type URLFinder struct {
	re        *regexp.Regexp
	shortHost string
}

// NewURLFinder returns a finder for SMS bodies. shortHost is the host of
// the short links, with its port if it has one ("link.akti.fyi",
// "127.0.0.1:8080"), compared without regard to case; links on it are
// found without a scheme too, whatever its top-level domain. An empty
// shortHost means none.
func NewURLFinder(shortHost string) *URLFinder {
	host := strings.ToLower(shortHost)
	re := xurls.Relaxed()
	if host != "" && !relaxedFinds(re, host) {
		re = regexp.MustCompile(shortHostExp(host) + "|" + re.String())
		re.Longest()
	}
	return &URLFinder{re: re, shortHost: host}
}

// Find returns every URL in body in order of appearance, duplicates
// included, or nil when there is none.
func (f *URLFinder) Find(body string) []Span {
	// No URL holds white space, so each word is matched on its own: the
	// matcher is slow, and most words can be skipped at a glance.
	var spans []Span
	word := -1
	for i, r := range body {
		switch {
		case !unicode.IsSpace(r):
			if word < 0 {
				word = i
			}
		case word >= 0:
			spans = f.appendWord(spans, body[word:i], word)
			word = -1
		}
	}
	if word >= 0 {
		spans = f.appendWord(spans, body[word:], word)
	}
	return spans
}

// Distinct returns the distinct texts of the URLs that Find returns, in the
// order first seen, or nil when there is none. Texts are compared byte for
// byte: HTTPS://X.TEST and https://x.test are two URLs.
func (f *URLFinder) Distinct(body string) []string {
	var urls []string
	seen := make(map[string]bool)
	for _, s := range f.Find(body) {
		if !seen[s.Text] {
			seen[s.Text] = true
			urls = append(urls, s.Text)
		}
	}
	return urls
}

// appendWord appends to spans the URLs in word, which starts at byte at of
// the body.
func (f *URLFinder) appendWord(spans []Span, word string, at int) []Span {
	if !f.mayHold(word) {
		return spans
	}
	re := f.regexp()
	email := re.SubexpIndex("relaxedEmail")
	for _, m := range re.FindAllStringSubmatchIndex(word, -1) {
		if email >= 0 && m[2*email] >= 0 {
			continue
		}
		if s, ok := f.refine(word, m[0], m[1]); ok {
			s.Start, s.End = s.Start+at, s.End+at
			spans = append(spans, s)
		}
	}
	return spans
}

// mayHold reports whether word may hold a URL that Find keeps: one with
// "://", a domain (a dot with something after it) or the short host.
func (f *URLFinder) mayHold(word string) bool {
	if strings.Contains(word, "://") {
		return true
	}
	if i := strings.IndexByte(word, '.'); i >= 0 && i < len(word)-1 {
		return true
	}
	return f.shortHost != "" && containsFold(word, f.shortHost)
}

// regexp returns the matcher of f, the plain relaxed one for the zero value.
func (f *URLFinder) regexp() *regexp.Regexp {
	if f.re == nil {
		return xurls.Relaxed()
	}
	return f.re
}

// refine applies the SMS rules to the candidate body[start:end] and reports
// whether a URL is left.
func (f *URLFinder) refine(body string, start, end int) (Span, bool) {
	text := body[start:end]
	n := schemeLen(text)
	if n < 0 {
		return Span{}, false
	}
	if n == 0 {
		skip := labelStart(text)
		start, text = start+skip, text[skip:]
	}

	end = trimEnd(text, n, cutIndex(text, n))
	if f.isShort(hostOf(text[n:end])) {
		hostEnd := n + hostLen(text[n:end])
		end = trimEnd(text, n, codeEnd(text[:end], hostEnd))
	}
	end = trimSuffix(text, n, end)

	host := hostOf(text[n:end])
	if !validHost(host, n > 0, f.isShort(host)) {
		return Span{}, false
	}
	return Span{Text: text[:end], Start: start, End: start + end}, true
}

// isShort reports whether host is the short host.
func (f *URLFinder) isShort(host string) bool {
	return f.shortHost != "" && strings.EqualFold(host, f.shortHost)
}

// schemeLen returns the length of the http:// or https:// that text starts
// with, 0 when it starts with no scheme, and -1 when it starts with another
// scheme (mailto:, tel:, ftp://, ...).
func schemeLen(text string) int {
	for _, s := range []string{"https://", "http://"} {
		if len(text) >= len(s) && strings.EqualFold(text[:len(s)], s) {
			return len(s)
		}
	}
	i := strings.IndexByte(text, ':')
	if i <= 0 || strings.IndexFunc(text[:i], notSchemeRune) >= 0 {
		return 0
	}
	name := strings.ToLower(text[:i])
	if strings.HasPrefix(text[i:], "://") ||
		slices.Contains(xurls.SchemesNoAuthority, name) {
		return -1
	}
	return 0
}

// notSchemeRune reports whether r cannot appear in a scheme name.
func notSchemeRune(r rune) bool {
	return !isASCIIAlnum(r) && r != '+' && r != '-' && r != '.'
}

// labelStart returns how many bytes of a link without a scheme belong to
// text glued before it: up to the last switch from a letter of a script
// other than Latin to an ASCII letter or digit in its first label.
func labelStart(text string) int {
	skip := 0
	prev := rune(0)
	for i, r := range text {
		if r == '.' || r == '/' || r == ':' {
			break
		}
		if isASCIIAlnum(r) && isForeign(prev) {
			skip = i
		}
		prev = r
	}
	return skip
}

// cutIndex returns where the URL in text ends under the symbol and script
// rules, scanning from hostStart, the end of the scheme.
func cutIndex(text string, hostStart int) int {
	inHost := true
	prev := rune('/')
	for i, r := range text[hostStart:] {
		switch {
		case r < utf8.RuneSelf:
			if r == '/' || r == '?' || r == '#' {
				inHost = false
			}
		case isEmojiPart(r):
			if strings.ContainsRune("0123456789#*", prev) {
				return hostStart + i - 1 // the base of a keycap: 1️⃣
			}
			return hostStart + i
		case !unicode.In(r, unicode.L, unicode.M, unicode.N):
			return hostStart + i
		case isForeign(r) && prev < utf8.RuneSelf && !joins(prev, inHost):
			return hostStart + i
		}
		prev = r
	}
	return len(text)
}

// isEmojiPart reports whether r is a mark that only emoji take: a
// variation selector, or an enclosing mark such as the keycap U+20E3.
func isEmojiPart(r rune) bool {
	return unicode.In(r, unicode.Variation_Selector, unicode.Me)
}

// joins reports whether the ASCII rune prev may be followed by a letter of
// another script within a URL.
func joins(prev rune, inHost bool) bool {
	return strings.ContainsRune("/-_=&?#+~([{:@%", prev) ||
		inHost && prev == '.'
}

// hostOf returns the host and port of s, a URL less its scheme.
func hostOf(s string) string {
	host := s[:hostLen(s)]
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		return host[i+1:]
	}
	return host
}

// hostLen returns the length of the user, host and port that start s.
func hostLen(s string) int {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		return i
	}
	return len(s)
}

// codeEnd returns where a link on the short host ends: after its code, the
// first path segment of [A-Za-z0-9_-], unless "/", "?" or "#" follows it.
func codeEnd(text string, hostEnd int) int {
	if hostEnd >= len(text) || text[hostEnd] != '/' {
		return len(text)
	}
	i := hostEnd + 1
	for i < len(text) && isCodeByte(text[i]) {
		i++
	}
	if i < len(text) && !strings.ContainsRune("/?#", rune(text[i])) {
		return i
	}
	return len(text)
}

// trailing holds the ASCII punctuation that never ends a URL.
const trailing = `.,!?;:'"*@\`

// trimEnd returns end less the trailing punctuation and unbalanced
// brackets of text[:end], never going below min.
func trimEnd(text string, min, end int) int {
	for {
		for end > min && strings.IndexByte(trailing, text[end-1]) >= 0 {
			end--
		}
		b := unbalanced(text[min:end])
		if b < 0 {
			return end
		}
		end = min + b
	}
}

// unbalanced returns the index in s of the first closing bracket that
// closes nothing or else of the first opening bracket left open, or -1.
func unbalanced(s string) int {
	var open []int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', '[', '{':
			open = append(open, i)
		case ')', ']', '}':
			if len(open) == 0 || s[open[len(open)-1]] != opener(c) {
				return i
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return open[0]
	}
	return -1
}

// opener returns the opening bracket of the closing bracket c.
func opener(c byte) byte {
	switch c {
	case ')':
		return '('
	case ']':
		return '['
	}
	return '{'
}

// trimSuffix returns end less an apostrophe and the one to three letters
// that end text[:end] after it, a suffix such as Turkish 'ya or English 's.
func trimSuffix(text string, min, end int) int {
	i := strings.LastIndexByte(text[min:end], '\'')
	if i < 0 {
		return end
	}
	i += min
	tail := text[i+1 : end]
	n := utf8.RuneCountInString(tail)
	if n < 1 || n > 3 || strings.IndexFunc(tail, notLetter) >= 0 {
		return end
	}
	return trimEnd(text, min, i)
}

// notLetter reports whether r is not a letter.
func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// validHost reports whether host, what is left of a URL's host and port,
// makes a URL: not empty; and, for a link without a scheme, one with a
// dot, and not on an IP address unless it is the short host.
func validHost(host string, schemed, short bool) bool {
	switch {
	case host == "":
		return false
	case schemed || short:
		return true
	}
	return strings.Contains(host, ".") && !isIPHost(host)
}

// isIPHost reports whether host, with or without a port, is an IP address.
func isIPHost(host string) bool {
	if strings.HasPrefix(host, "[") {
		return true
	}
	if _, err := netip.ParseAddrPort(host); err == nil {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// isForeign reports whether r is a letter, mark or digit of a script other
// than Latin: one that may start text glued to a URL.
func isForeign(r rune) bool {
	return r >= utf8.RuneSelf &&
		!unicode.In(r, unicode.Latin, unicode.Inherited, unicode.Common)
}

// isASCIIAlnum reports whether r is an ASCII letter or digit.
func isASCIIAlnum(r rune) bool {
	return r < utf8.RuneSelf && isCodeByte(byte(r)) && r != '-' && r != '_'
}

// isCodeByte reports whether c may appear in a short link's code.
func isCodeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		'0' <= c && c <= '9' || c == '-' || c == '_'
}

// relaxedFinds reports whether re finds a link on host without a scheme.
func relaxedFinds(re *regexp.Regexp, host string) bool {
	probe := host + "/abc"
	return re.FindString(" "+probe+" ") == probe
}

// shortPath matches the rest of a link on the short host after its host.
const shortPath = `(?:/[A-Za-z0-9\-._~%!$&'*+,;=:@/?#()\[\]{}\p{L}\p{M}\p{N}]*)`

// shortHostExp returns a regular expression for links on host, with or
// without a scheme, for a host that the relaxed matcher does not find.
func shortHostExp(host string) string {
	var b strings.Builder
	if isCodeByte(host[0]) {
		b.WriteString(`\b`)
	}
	b.WriteString(`(?i:https?://)?` + asciiFoldExp(host))
	if isCodeByte(host[len(host)-1]) {
		b.WriteString(`(?:` + shortPath + `|\b)`)
	} else {
		b.WriteString(shortPath + `?`)
	}
	return b.String()
}

// asciiFoldExp returns a regular expression for s in any mix of ASCII
// upper and lower case, unlike (?i), which also folds K with the Kelvin sign
// and s with ſ: such texts would slip past containsFold.
func asciiFoldExp(s string) string {
	var b strings.Builder
	for _, r := range s {
		if u := unicode.ToUpper(r); r < utf8.RuneSelf && u != r {
			b.WriteString("[" + string(r) + string(u) + "]")
		} else {
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// containsFold reports whether s holds substr, without regard to case.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}
