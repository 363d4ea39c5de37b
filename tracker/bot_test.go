package tracker

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// agentCase is a real User-Agent string and the verdict it must get.
type agentCase struct {
	name string
	ua   string
	want Reason
}

// botAgents are agents seen fetching links without a person behind them,
// copied from vendors' documentation, crawler lists and published logs.
var botAgents = []agentCase{
	// Link-preview fetchers named in spec/events.md.
	{"facebookexternalhit",
		"facebookexternalhit/1.1 " +
			"(+http://www.facebook.com/externalhit_uatext.php)",
		ReasonPreview},
	{"Facebot", "Facebot", ReasonPreview},
	{"Twitterbot", "Twitterbot/1.0", ReasonPreview},
	{"WhatsApp Android", "WhatsApp/2.23.20.0 A", ReasonPreview},
	{"WhatsApp iOS", "WhatsApp/2.24.6.77 i", ReasonPreview},
	{"Signal as WhatsApp", "WhatsApp/2", ReasonPreview},
	{"Slackbot-LinkExpanding",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		ReasonPreview},
	{"Slackbot", "Slackbot 1.0 (+https://api.slack.com/robots)",
		ReasonPreview},
	{"TelegramBot", "TelegramBot (like TwitterBot)", ReasonPreview},
	{"Discordbot",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		ReasonPreview},
	{"LinkedInBot",
		"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient " +
			"+http://www.linkedin.com)",
		ReasonPreview},
	{"SkypeUriPreview",
		"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 " +
			"skype-url-preview@microsoft.com",
		ReasonPreview},
	{"MicrosoftPreview",
		"Mozilla/5.0 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview",
		ReasonPreview},

	// Disguised SMS previews.
	{"iMessage",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) " +
			"AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 " +
			"Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
		ReasonPreview},
	{"iMessage LinkPresentation",
		"com.apple.WebKit.Networking/8614.2.9.0.11 CFNetwork/1399 " +
			"Darwin/22.1.0",
		ReasonPreview},
	{"Samsung Messages Ubuntu Firefox 24",
		"Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:24.0) Gecko/20100101 " +
			"Firefox/24.0",
		ReasonPreview},
	{"Samsung Messages Windows Firefox 30",
		"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:30.0) Gecko/20100101 " +
			"Firefox/30.0",
		ReasonPreview},
	{"Google Messages PageRenderer",
		"Mozilla/5.0 Google-PageRenderer Google " +
			"(+https://developers.google.com/+/web/snippet/)",
		ReasonPreview},
	{"Google PageRenderer Chrome",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36 " +
			"Google-PageRenderer Google " +
			"(+https://developers.google.com/+/web/snippet/)",
		ReasonPreview},
	{"Android SMS Dalvik",
		"Dalvik/2.1.0 (Linux; U; Android 10; SM-A750G " +
			"Build/QP1A.190711.020)",
		ReasonLibrary},
	{"Facebook Lite fetcher",
		"supportsFresco=1 modular=2 Dalvik/2.1.0 (Linux; U; Android 12; " +
			"Pixel 3 XL Build/SP1A.210812.016.C1) [FBAN/EMA;" +
			"FBBV/538547666;FBAV/382.0.0.11.115;FBDV/Pixel 3 XL;FBSV/12;" +
			"FBCX/okhttp3;FBDM/{density=3.5}]",
		ReasonLibrary},
	{"bare Mozilla", "Mozilla/5.0", ReasonBareMozilla},
	{"Mozilla compatible", "Mozilla/5.0 (compatible)", ReasonBareMozilla},
	{"Mozilla platform only", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
		ReasonBareMozilla},

	// Other preview fetchers.
	{"Pinterestbot",
		"Mozilla/5.0 (compatible; Pinterestbot/1.0; " +
			"+http://www.pinterest.com/bot.html)",
		ReasonPreview},
	{"redditbot",
		"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/1.0 Safari/537.36 " +
			"(compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
		ReasonPreview},
	{"Bluesky",
		"Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; " +
			"+mailto:support@bsky.app)",
		ReasonPreview},
	{"Mastodon",
		"http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)",
		ReasonPreview},

	// HTTP libraries and tools.
	{"curl", "curl/8.5.0", ReasonLibrary},
	{"Wget", "Wget/1.21.4", ReasonLibrary},
	{"python-requests", "python-requests/2.31.0", ReasonLibrary},
	{"Python-urllib", "Python-urllib/3.11", ReasonLibrary},
	{"aiohttp", "Python/3.11 aiohttp/3.9.3", ReasonLibrary},
	{"httpx", "python-httpx/0.27.0", ReasonLibrary},
	{"Go HTTP/1.1", "Go-http-client/1.1", ReasonLibrary},
	{"Go HTTP/2", "Go-http-client/2.0", ReasonLibrary},
	{"Java", "Java/1.8.0_292", ReasonLibrary},
	{"Java HttpClient", "Java-http-client/17.0.2", ReasonLibrary},
	{"Apache HttpClient", "Apache-HttpClient/4.5.14 (Java/17.0.9)",
		ReasonLibrary},
	{"okhttp", "okhttp/4.9.0", ReasonLibrary},
	{"axios", "axios/1.6.8", ReasonLibrary},
	{"node-fetch",
		"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
		ReasonLibrary},
	{"Node fetch", "node", ReasonLibrary},
	{"libwww-perl", "libwww-perl/6.72", ReasonLibrary},
	{"Guzzle", "GuzzleHttp/7", ReasonLibrary},
	{"Ruby", "Ruby", ReasonLibrary},
	{"Dart", "Dart/3.2 (dart:io)", ReasonLibrary},
	{"iOS app URLSession", "MyApp/1.4.2 CFNetwork/1494.0.7 Darwin/23.4.0",
		ReasonLibrary},
	{"PostmanRuntime", "PostmanRuntime/7.36.3", ReasonLibrary},

	// Crawlers and scanners.
	{"Googlebot smartphone",
		"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) " +
			"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 " +
			"Mobile Safari/537.36 " +
			"(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		ReasonCrawler},
	{"Googlebot desktop",
		"Mozilla/5.0 (compatible; Googlebot/2.1; " +
			"+http://www.google.com/bot.html)",
		ReasonCrawler},
	{"Google-InspectionTool",
		"Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)",
		ReasonCrawler},
	{"bingbot",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; " +
			"bingbot/2.0; +http://www.bing.com/bingbot.htm) " +
			"Chrome/116.0.1938.76 Safari/537.36",
		ReasonCrawler},
	{"Applebot",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 " +
			"Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
		ReasonCrawler},
	{"YandexBot",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		ReasonCrawler},
	{"AhrefsBot",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		ReasonCrawler},
	{"HeadlessChrome",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) HeadlessChrome/120.0.6099.109 " +
			"Safari/537.36",
		ReasonCrawler},
	{"GPTBot",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; " +
			"GPTBot/1.2; +https://openai.com/gptbot)",
		ReasonCrawler},
	{"Lighthouse",
		"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) " +
			"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 " +
			"Mobile Safari/537.36 Chrome-Lighthouse",
		ReasonCrawler},
	{"Gmail image proxy",
		"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 " +
			"(via ggpht.com GoogleImageProxy)",
		ReasonPreview},
}

// humanAgents are current browsers on phones and desktops, and the in-app
// browsers that open links for people.
var humanAgents = []agentCase{
	{"Safari iOS 17",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	{"Safari iOS 18",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3.1 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	{"Safari iPad",
		"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	{"Safari iPad desktop mode",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 " +
			"Safari/605.1.15",
		Human},
	{"Chrome iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	{"Chrome Android",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		Human},
	{"Samsung Internet",
		"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) " +
			"AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 " +
			"Chrome/122.0.0.0 Mobile Safari/537.36",
		Human},
	{"Samsung Internet reduced",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 " +
			"Mobile Safari/537.36",
		Human},
	{"Firefox Android",
		"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 " +
			"Firefox/133.0",
		Human},
	{"Firefox Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) " +
			"Gecko/20100101 Firefox/133.0",
		Human},
	{"Firefox Ubuntu",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) " +
			"Gecko/20100101 Firefox/133.0",
		Human},
	{"Firefox Mac",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) " +
			"Gecko/20100101 Firefox/133.0",
		Human},
	{"Firefox 78 ESR OS X 10.11",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.11; rv:78.0) " +
			"Gecko/20100101 Firefox/78.0",
		Human},
	{"KaiOS feature phone",
		"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;" +
			"Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
		Human},
	{"Chrome Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Human},
	{"Chrome Mac",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " +
			"AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 " +
			"Safari/537.36",
		Human},
	{"Edge",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 " +
			"Edg/131.0.0.0",
		Human},
	{"Opera",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 " +
			"OPR/115.0.0.0",
		Human},
	{"Opera Android",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 " +
			"OPR/86.0.0.0",
		Human},
	{"Yandex Browser",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/124.0.0.0 YaBrowser/24.6.0.0 " +
			"Safari/537.36",
		Human},
	{"DuckDuckGo iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 " +
			"Mobile/15E148 DuckDuckGo/7 Safari/605.1.15",
		Human},
	{"DuckDuckGo Android",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Version/4.0 Chrome/124.0.0.0 Mobile " +
			"DuckDuckGo/5 Safari/537.36",
		Human},
	{"Google app iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/312.0.624461838 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	// Gmail opens links in a Safari view: atomantic/is-ua-webview#2.
	{"Gmail iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 12_0 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 " +
			"Mobile/15E148 Safari/604.1",
		Human},
	{"Instagram iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
			"Instagram 326.0.3.16.96 (iPhone14,5; iOS 17_4; en_US; en; " +
			"scale=3.00; 1170x2532; 585498298)",
		Human},
	{"Instagram Android",
		"Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; " +
			"wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 " +
			"Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram " +
			"312.1.0.34.111 Android (33/13; 420dpi; 1080x2176; samsung; " +
			"SM-G991B; o1s; exynos2100; en_US; 548323754)",
		Human},
	{"Facebook iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21B101 " +
			"[FBAN/FBIOS;FBAV/444.0.0.37.107;FBBV/541139524;" +
			"FBDV/iPhone14,7;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;" +
			"FBID/phone;FBLC/en_US;FBOP/5;FBRV/543355412]",
		Human},
	{"Facebook Android",
		"Mozilla/5.0 (Linux; Android 13; SM-G990U2 " +
			"Build/TP1A.220624.014; wv) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile " +
			"Safari/537.36 [FB_IAB/FB4A;FBAV/435.0.0.32.108;]",
		Human},
	{"Messenger Lite iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 16_1_2 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
			"LightSpeed [FBAN/MessengerLiteForiOS;FBAV/392.0.0.35.101;" +
			"FBBV/438833785;FBDV/iPhone12,5;FBMD/iPhone;FBSN/iOS;" +
			"FBSV/16.1.2;FBSS/3;FBCR/;FBID/phone;FBLC/es;FBOP/0]",
		Human},
	{"TikTok iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
			"musical_ly_32.9.0 JsSdk/2.0 NetType/WIFI Channel/App Store " +
			"ByteLocale/en Region/US RevealType/Dialog isDarkMode/0 " +
			"WKWebView/1 BytedanceWebview/d8a21c6 FalconTag/",
		Human},
	{"TikTok Android",
		"Mozilla/5.0 (Linux; Android 12; SM-A515F Build/SP1A.210812.016; " +
			"wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 " +
			"Chrome/119.0.6045.163 Mobile Safari/537.36 trill_320704 " +
			"JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly " +
			"app_version/32.7.4 ByteLocale/en ByteFullLocale/en Region/US " +
			"Spark/1.4.6.3-bugfix AppVersion/32.7.4 " +
			"BytedanceWebview/d8a21c6",
		Human},
	{"LinkedIn iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
			"[LinkedInApp]/9.29.8456",
		Human},
	{"Snapchat iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 " +
			"Snapchat/12.95.0.40 (like Safari/8615.3.12.10.4, panda)",
		Human},
	{"Telegram Android",
		"Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; " +
			"wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 " +
			"Chrome/121.0.6167.101 Mobile Safari/537.36 " +
			"Telegram-Android/10.6.2 (Samsung SM-A536B; Android 13; " +
			"SDK 33; AVERAGE)",
		Human},
	{"Chrome Android with model",
		"Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		Human},
	{"Firefox iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 " +
			"Mobile/15E148 Safari/605.1.15",
		Human},
	{"Firefox 115 ESR Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) " +
			"Gecko/20100101 Firefox/115.0",
		Human},
	{"ChromeOS",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Human},
	{"Messenger Android",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B " +
			"Build/UP1A.231005.007; wv) AppleWebKit/537.36 " +
			"(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.210 Mobile " +
			"Safari/537.36 [FB_IAB/Orca-Android;FBAV/443.0.0.28.108;]",
		Human},
	{"X iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21E219 " +
			"Twitter for iPhone/10.34",
		Human},
	{"LINE iOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) " +
			"AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21E219 " +
			"Line/14.3.0",
		Human},
	{"Pinterest Android",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; " +
			"wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 " +
			"Chrome/121.0.6167.178 Mobile Safari/537.36 [Pinterest/Android]",
		Human},
	{"Xiaomi Mi Browser",
		"Mozilla/5.0 (Linux; U; Android 13; en-us; 2201117TG " +
			"Build/TKQ1.221114.001) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 " +
			"XiaoMi/MiuiBrowser/14.7.10-gn",
		Human},
	{"UC Browser",
		"Mozilla/5.0 (Linux; U; Android 11; en-US; RMX2185 " +
			"Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Version/4.0 Chrome/100.0.4896.58 UCBrowser/13.4.0.1306 " +
			"Mobile Safari/537.36",
		Human},
}

func TestClassifyAgent(t *testing.T) {
	c := NewClassifier(64)
	for _, tt := range slices.Concat(botAgents, humanAgents) {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"User-Agent": {tt.ua}}
			got := c.Classify(http.MethodGet, h)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify(%q) (-want +got):\n%s", tt.ua, diff)
			}
		})
	}
}

func TestClassifyHeaders(t *testing.T) {
	safari := humanAgents[0].ua
	tests := []struct {
		name   string
		method string
		h      http.Header
		want   Reason
	}{
		{"GET from a browser", http.MethodGet,
			http.Header{"User-Agent": {safari}}, Human},
		{"POST from a browser", http.MethodPost,
			http.Header{"User-Agent": {safari}}, Human},
		{"HEAD from a browser", http.MethodHead,
			http.Header{"User-Agent": {safari}}, ReasonHead},
		{"HEAD without agent", http.MethodHead, http.Header{}, ReasonHead},
		{"HEAD prefetch", http.MethodHead,
			http.Header{"Sec-Purpose": {"prefetch"}}, ReasonHead},
		{"Sec-Purpose prefetch", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Sec-Purpose": {"prefetch"}},
			ReasonPrefetch},
		{"Sec-Purpose prerender", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Sec-Purpose": {"prefetch;prerender"}},
			ReasonPrefetch},
		{"Sec-Purpose anonymous", http.MethodGet, http.Header{
			"User-Agent":  {safari},
			"Sec-Purpose": {"prefetch; anonymous-client-ip"}},
			ReasonPrefetch},
		{"Purpose prefetch", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Purpose": {"prefetch"}},
			ReasonPrefetch},
		{"Purpose upper case", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Purpose": {"PREFETCH"}},
			ReasonPrefetch},
		{"X-Purpose preview", http.MethodGet, http.Header{
			"User-Agent": {safari}, "X-Purpose": {"preview"}},
			ReasonPrefetch},
		{"X-Moz prefetch", http.MethodGet, http.Header{
			"User-Agent": {safari}, "X-Moz": {"prefetch"}},
			ReasonPrefetch},
		{"prefetch in second value", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Purpose": {"other", "prefetch"}},
			ReasonPrefetch},
		{"prefetch without agent", http.MethodGet,
			http.Header{"X-Moz": {"prefetch"}}, ReasonPrefetch},
		{"unrelated purpose", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Sec-Purpose": {"prefetchx"}},
			Human},
		{"empty purpose", http.MethodGet, http.Header{
			"User-Agent": {safari}, "Purpose": {""}}, Human},
		{"no agent", http.MethodGet, http.Header{}, ReasonNoAgent},
		{"empty agent", http.MethodGet,
			http.Header{"User-Agent": {""}}, ReasonNoAgent},
		{"blank agent", http.MethodGet,
			http.Header{"User-Agent": {" \t "}}, ReasonNoAgent},
		{"padded agent", http.MethodGet,
			http.Header{"User-Agent": {"  curl/8.5.0 "}}, ReasonLibrary},
	}
	c := NewClassifier(16)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Classify(tt.method, tt.h)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify(%s, %v) (-want +got):\n%s",
					tt.method, tt.h, diff)
			}
		})
	}
}

func TestClassifyCache(t *testing.T) {
	tests := []struct {
		name      string
		cacheSize int
		ua        string
		want      Reason
		wantLen   int
	}{
		{"cached", 4, "curl/8.5.0", ReasonLibrary, 1},
		{"size zero taken as one", 0, "curl/8.5.0", ReasonLibrary, 1},
		{"too long to cache", 4,
			"curl/8.5.0 " + strings.Repeat("x", maxCachedAgent),
			ReasonLibrary, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClassifier(tt.cacheSize)
			h := http.Header{"User-Agent": {tt.ua}}
			for range 3 {
				got := c.Classify(http.MethodGet, h)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Classify (-want +got):\n%s", diff)
				}
			}
			if got := c.verdicts.Len(); got != tt.wantLen {
				t.Errorf("cache holds %d agents, want %d", got, tt.wantLen)
			}
		})
	}
}

func TestClassifyEviction(t *testing.T) {
	// With room for one agent, alternating agents miss every time and
	// must still get their own verdicts.
	c := NewClassifier(1)
	cases := []agentCase{botAgents[0], humanAgents[0]}
	for i := range 6 {
		tt := cases[i%len(cases)]
		got := c.Classify(http.MethodGet, http.Header{"User-Agent": {tt.ua}})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("call %d, %s (-want +got):\n%s", i, tt.name, diff)
		}
	}
}

func TestClassifyConcurrent(t *testing.T) {
	all := slices.Concat(botAgents, humanAgents)
	want := make([]Reason, len(all))
	for i, tt := range all {
		want[i] = tt.want
	}

	// A small cache makes the goroutines evict each other's entries.
	c := NewClassifier(8)
	got := make([][]Reason, 4)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			got[g] = make([]Reason, len(all))
			for i, tt := range all {
				h := http.Header{"User-Agent": {tt.ua}}
				got[g][i] = c.Classify(http.MethodGet, h)
			}
		})
	}
	wg.Wait()

	for g := range got {
		if diff := cmp.Diff(want, got[g]); diff != "" {
			t.Errorf("goroutine %d (-want +got):\n%s", g, diff)
		}
	}
}

func TestIsBareMozilla(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{"mozilla/5.0", true},
		{"mozilla/5.0 ", true},
		{"mozilla/4.0", true},
		{"mozilla/5.0 (compatible)", true},
		{"mozilla/5.0 (compatible;)", true},
		{"mozilla/5.0 (compatible; msie 6.0; windows nt 5.1)", false},
		{"mozilla/5.0 (compatible; somebot)", false},
		{"mozilla/5.0 (compatible; +http://example.com)", false},
		{"mozilla/5.0 (windows nt 10.0) gecko", false},
		{"mozilla/5.0 applewebkit/537.36", false},
		{"mozilla", false},
		{"curl/8.5.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.ua, func(t *testing.T) {
			if got := isBareMozilla(tt.ua); got != tt.want {
				t.Errorf("isBareMozilla(%q) = %t, want %t", tt.ua, got, tt.want)
			}
		})
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		s, tok string
		want   bool
	}{
		{"java/1.8.0", "java/", true},
		{"apache-httpclient/4.5 (java/17)", "java/", true},
		{"x dalvik/2.1.0", "dalvik/", true},
		{"myjava/1.0", "java/", false},
		{"my-java/1.0", "java/", false},
		{"myjava/1.0 java/1.0", "java/", true},
		{"java", "java/", false},
		{"", "java/", false},
	}
	for _, tt := range tests {
		t.Run(tt.s+" "+tt.tok, func(t *testing.T) {
			if got := hasToken(tt.s, tt.tok); got != tt.want {
				t.Errorf("hasToken(%q, %q) = %t, want %t",
					tt.s, tt.tok, got, tt.want)
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	c := NewClassifier(4096)
	h := http.Header{
		"User-Agent":      {humanAgents[0].ua},
		"Accept":          {"text/html,application/xhtml+xml"},
		"Accept-Language": {"en-US,en;q=0.9"},
	}
	c.Classify(http.MethodGet, h)
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(http.MethodGet, h)
	}
}

func BenchmarkClassifyUncached(b *testing.B) {
	// Distinct human agents with a cache of one: every call misses and
	// runs every rule, the crawler patterns included.
	headers := make([]http.Header, 256)
	for i := range headers {
		tt := humanAgents[i%len(humanAgents)]
		ua := tt.ua + " build/" + strconv.Itoa(i)
		headers[i] = http.Header{"User-Agent": {ua}}
	}
	c := NewClassifier(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Classify(http.MethodGet, headers[i%len(headers)])
		i++
	}
}
