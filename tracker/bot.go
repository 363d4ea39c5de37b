package tracker

import (
	"net/http"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/x-way/crawlerdetect"
)

// Reason says why a visit is not a lead's click. The empty Reason, Human,
// means it is one. Reasons are stored with bot visits, so their values are
// stable.
type Reason string

// The reasons Classify returns.
const (
	// Human is a visit by a person: a lead's click.
	Human Reason = ""

	// ReasonHead is a HEAD request, which no browser sends to follow a link.
	ReasonHead Reason = "head"

	// ReasonPrefetch is a speculative fetch announced by a Sec-Purpose,
	// Purpose, X-Purpose or X-Moz header.
	ReasonPrefetch Reason = "prefetch"

	// ReasonNoAgent is a request with an empty or blank User-Agent.
	ReasonNoAgent Reason = "no_user_agent"

	// ReasonPreview is a link-preview fetcher of a chat, SMS or social app.
	ReasonPreview Reason = "link_preview"

	// ReasonCrawler is a search engine crawler, scanner or other robot.
	ReasonCrawler Reason = "crawler"

	// ReasonLibrary is a plain HTTP client library or command-line tool.
	ReasonLibrary Reason = "http_library"

	// ReasonBareMozilla is an agent that names Mozilla and no browser, as
	// Google's link scanners send.
	ReasonBareMozilla Reason = "bare_mozilla"
)

// maxCachedAgent is the longest User-Agent, in bytes, whose verdict is
// cached. Real agents stay well under it; longer ones are classified on
// every request so that a client cannot fill the cache with huge keys.
const maxCachedAgent = 1024

// oldFirefox is the first Firefox major version that a desktop agent may
// claim and still be a person. Samsung Messages fetches previews as Firefox
// 24 on Ubuntu (reported in browscap/browscap#2157 and
// monperrus/crawler-user-agents#208). Firefox 70 shipped in 2019, and every
// desktop system still in use has had Firefox 78 ESR or later since 2020.
const oldFirefox = 70

// Classifier decides whether a request is a lead's click. It caches the
// verdict for each User-Agent string, since the crawler patterns are slow
// to match and agents repeat; the cache evicts the agent classified
// longest ago (a hit does not refresh it), so a popular agent is
// classified again once per cacheSize new ones. A Classifier is safe for
// concurrent use. The zero value is not usable; call NewClassifier.
//
// Limitations: the rules judge the headers only, so a fetcher that copies
// a current browser's User-Agent and sends no prefetch header counts as a
// click. A verdict that is not cached costs 0.3 to 0.5 ms of CPU, nearly
// all of it in crawlerdetect's patterns, so a stream of distinct agents
// that evicts the cache makes every request pay that.
type Classifier struct {
	verdicts *lru.Cache[string, Reason]
}

// NewClassifier returns a Classifier that caches the verdicts of up to
// cacheSize User-Agent strings. A cacheSize below 1 is taken as 1.
func NewClassifier(cacheSize int) *Classifier {
	cacheSize = max(cacheSize, 1)
	verdicts, err := lru.New[string, Reason](cacheSize)
	if err != nil {
		// lru.New fails only for a size below 1.
		panic("tracker: " + err.Error())
	}
	return &Classifier{verdicts: verdicts}
}

// Classify returns the Reason for a request with that method and headers:
// Human for a lead's click, otherwise why it is not one. The checks run in
// this order: HEAD, prefetch headers, missing agent, then the User-Agent
// rules of classifyAgent.
func (c *Classifier) Classify(method string, h http.Header) Reason {
	if method == http.MethodHead {
		return ReasonHead
	}
	if isPrefetch(h) {
		return ReasonPrefetch
	}
	ua := strings.TrimSpace(h.Get("User-Agent"))
	if ua == "" {
		return ReasonNoAgent
	}
	return c.agent(ua)
}

// agent returns the verdict for ua, from the cache when it is there.
func (c *Classifier) agent(ua string) Reason {
	if len(ua) > maxCachedAgent {
		return classifyAgent(ua)
	}
	// Peek: a verdict never changes, and under the cache's shared lock
	// the cores serving one popular agent do not queue for it.
	if r, ok := c.verdicts.Peek(ua); ok {
		return r
	}
	r := classifyAgent(ua)
	c.verdicts.Add(ua, r)
	return r
}

// isPrefetch reports whether h announces a speculative fetch: Chrome's
// Sec-Purpose (which may read "prefetch;prerender"), the older Purpose,
// Safari's X-Purpose: preview and Firefox's X-Moz: prefetch. Either word
// counts in any of these headers, in any case.
func isPrefetch(h http.Header) bool {
	names := [...]string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"}
	for _, name := range names {
		for _, v := range h.Values(name) {
			if hasPrefetchToken(v) {
				return true
			}
		}
	}
	return false
}

// hasPrefetchToken reports whether the list v, its items separated by
// commas or semicolons, holds "prefetch" or "preview".
func hasPrefetchToken(v string) bool {
	for v != "" {
		var item string
		i := strings.IndexAny(v, ",;")
		if i < 0 {
			item, v = v, ""
		} else {
			item, v = v[:i], v[i+1:]
		}
		item = strings.TrimSpace(item)
		if strings.EqualFold(item, "prefetch") ||
			strings.EqualFold(item, "preview") {
			return true
		}
	}
	return false
}

// classifyAgent applies the User-Agent rules in order. The explicit preview
// list comes first, so that iMessage's Safari string with Facebook's and
// Twitter's tokens appended is a preview, and the crawler list last, since
// it is the broadest and the slowest.
func classifyAgent(ua string) Reason {
	lower := strings.ToLower(ua)
	switch {
	case containsAny(lower, previewAgents):
		return ReasonPreview
	case isLibrary(lower):
		return ReasonLibrary
	case isOldDesktopFirefox(ua):
		return ReasonPreview
	case isBareMozilla(lower):
		return ReasonBareMozilla
	case containsAny(lower, crawlerAgents), crawlerdetect.IsCrawler(ua):
		return ReasonCrawler
	}
	return Human
}

// previewAgents are lowercase substrings of the agents that fetch a page to
// show a preview of a link in a message or a post. Sources: each vendor's
// crawler documentation (Meta, X, Slack, Discord, LinkedIn, Microsoft,
// Pinterest, Snap, Bluesky), the agents recorded in browscap and in
// monperrus/crawler-user-agents, and logs of SMS link trackers published
// on GitHub (iMessage, Google Messages). In-app browsers of the same
// vendors (FBAN/FBAV, Instagram, LinkedInApp, Snapchat, Telegram-Android)
// carry none of these and are people.
var previewAgents = []string{
	"facebookexternalhit",         // Meta; also LINE and iMessage
	"facebot",                     // Meta
	"twitterbot",                  // X; also iMessage and TelegramBot
	"whatsapp/",                   // WhatsApp; Signal sends "WhatsApp/2"
	"telegrambot",                 // Telegram: "TelegramBot (like TwitterBot)"
	"slackbot",                    // Slack: Slackbot-LinkExpanding and Slackbot
	"slack-imgproxy",              // Slack's image proxy
	"discordbot",                  // Discord
	"linkedinbot",                 // LinkedIn
	"skypeuripreview",             // Skype and Teams
	"microsoftpreview",            // Outlook and Teams
	"google-pagerenderer",         // Google Messages and other Google products
	"com.apple.webkit.networking", // iMessage's LinkPresentation
	"pinterestbot",                // Pinterest
	"redditbot",                   // Reddit
	"snap url preview service",    // Snapchat
	"cardyb",                      // Bluesky
	"mastodon/",                   // Mastodon servers
	"kakaotalk-scrap",             // KakaoTalk
	"vkshare",                     // VK
	"embedly",                     // Embedly
	"iframely",                    // Iframely
	"quora link preview",          // Quora
}

// libraryTokens are lowercase product tokens of HTTP client libraries and
// command-line tools, from each project's default User-Agent. They match
// at the start of a token anywhere in the agent, so "Apache-HttpClient/4.5
// (Java/17)" and "... Dalvik/2.1.0 ..." match. Browsers send none of them:
// pages opened inside an app (WebView, WKWebView) send a Mozilla string.
var libraryTokens = []string{
	"curl/", "libcurl/", "wget/", "httpie/", "aria2/",
	"python-requests/", "python-urllib/", "python-urllib3/",
	"python-httpx/", "aiohttp/", "python/",
	"go-http-client/", "go-resty/",
	"java/", "java-http-client/", "apache-httpclient/", "okhttp/",
	"jersey/", "reactornetty/",
	"dalvik/",    // Android's HttpURLConnection; Android SMS previews
	"cfnetwork/", // Apple's URLSession
	"axios/", "node-fetch/", "undici/", "deno/", "bun/",
	"libwww-perl/", "lwp::simple/", "guzzlehttp/", "php/",
	"faraday v", "http.rb/", "rest-client/", "typhoeus",
	"got (https://github.com/sindresorhus/got)",
	"dart/", "restsharp/", "reqwest/",
	"postmanruntime/", "insomnia/",
}

// libraryAgents are whole lowercase agents of libraries that send no
// version: Node's built-in fetch sends "node", Ruby's Net::HTTP "Ruby".
var libraryAgents = []string{"node", "undici", "ruby"}

// crawlerAgents are lowercase substrings of crawlers that are matched here
// before the crawlerdetect list, so the names that matter most do not hang
// on a third-party pattern: Google's, Microsoft's and Apple's crawlers.
var crawlerAgents = []string{
	"googlebot", "google-inspectiontool", "googleother", "adsbot-google",
	"mediapartners-google", "storebot-google", "google-read-aloud",
	"feedfetcher-google", "apis-google", "google-safety",
	"bingbot", "bingpreview", "adidxbot", "msnbot",
	"applebot",
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isLibrary reports whether the lowercase agent ua is an HTTP library's.
func isLibrary(ua string) bool {
	for _, a := range libraryAgents {
		if ua == a {
			return true
		}
	}
	for _, tok := range libraryTokens {
		if hasToken(ua, tok) {
			return true
		}
	}
	return false
}

// hasToken reports whether tok occurs in s at the start of a word: at the
// start of s or after a character that is not a letter, digit or '-'.
func hasToken(s, tok string) bool {
	for i := 0; i <= len(s)-len(tok); {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 || !isWordByte(s[at-1]) {
			return true
		}
		i = at + 1
	}
	return false
}

// isWordByte reports whether b may be part of a product name.
func isWordByte(b byte) bool {
	return b == '-' || b == '_' || b == '.' ||
		'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// isOldDesktopFirefox reports whether ua claims a Firefox older than
// oldFirefox on a desktop system, as Samsung Messages' preview fetcher
// does. Old Firefox on phones (KaiOS feature phones run Firefox 48) stays
// a person.
func isOldDesktopFirefox(ua string) bool {
	_, after, ok := strings.Cut(ua, "Firefox/")
	if !ok {
		return false
	}
	major, ok := leadingInt(after)
	if !ok || major >= oldFirefox {
		return false
	}
	return isDesktop(ua)
}

// isDesktop reports whether the platform comment of ua, the first
// parenthesised part, names Windows, X11 or a Mac and no phone or tablet.
func isDesktop(ua string) bool {
	_, comment, ok := strings.Cut(ua, "(")
	if !ok {
		return false
	}
	comment, _, _ = strings.Cut(comment, ")")
	for _, mobile := range []string{"Mobile", "Tablet", "Android"} {
		if strings.Contains(comment, mobile) {
			return false
		}
	}
	return strings.HasPrefix(comment, "Windows") ||
		strings.HasPrefix(comment, "X11") ||
		strings.HasPrefix(comment, "Macintosh")
}

// leadingInt parses the decimal digits at the start of s.
func leadingInt(s string) (int, bool) {
	n, i := 0, 0
	for ; i < len(s) && i < 6 && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, i > 0
}

// isBareMozilla reports whether the lowercase agent ua is "mozilla/" and a
// version, optionally followed by one parenthesised comment that names no
// product, robot or address, as in "Mozilla/5.0" and "Mozilla/5.0
// (compatible)": the agents of Google's link scanners. A comment naming
// MSIE is a browser and is left to the later rules.
func isBareMozilla(ua string) bool {
	rest, ok := strings.CutPrefix(ua, "mozilla/")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(strings.TrimLeft(rest, "0123456789."))
	if rest == "" {
		return true
	}
	comment, ok := strings.CutPrefix(rest, "(")
	if !ok {
		return false
	}
	comment, ok = strings.CutSuffix(comment, ")")
	if !ok || strings.ContainsAny(comment, "()/+@") {
		return false
	}
	return !containsAny(comment, []string{"bot", "crawl", "spider", "msie"})
}
