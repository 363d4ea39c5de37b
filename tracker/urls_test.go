package tracker

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testShortHost is the short host of most cases below.
const testShortHost = "link.akti.fyi"

// urlCase is one SMS body and the distinct URLs that must be found in it.
type urlCase struct {
	name string
	host string // short host; testShortHost when empty
	body string
	want []string
}

// urlCases are real-looking SMS bodies. The fuzz target uses their bodies
// as seeds.
var urlCases = []urlCase{
	// English, and the punctuation rules.
	{
		name: "english plain",
		body: "Hey John, check out https://link.akti.fyi/abc123 for 20% off " +
			"today! Reply STOP to opt out",
		want: []string{"https://link.akti.fyi/abc123"},
	},
	{
		name: "trailing full stop",
		body: "Your order has shipped. Track it: " +
			"https://link.akti.fyi/Xk3p9QaZ.",
		want: []string{"https://link.akti.fyi/Xk3p9QaZ"},
	},
	{
		name: "in parentheses",
		body: "Flash sale (https://link.akti.fyi/abc123) ends tonight",
		want: []string{"https://link.akti.fyi/abc123"},
	},
	{
		name: "bare short link with exclamation mark",
		body: "Last chance! link.akti.fyi/abc123!",
		want: []string{"link.akti.fyi/abc123"},
	},
	{
		name: "balanced parentheses kept",
		body: "Read more: https://en.wikipedia.org/wiki/Go_(language)",
		want: []string{"https://en.wikipedia.org/wiki/Go_(language)"},
	},
	{
		name: "balanced parentheses inside parentheses",
		body: "Go (see https://en.wikipedia.org/wiki/Go_(language)).",
		want: []string{"https://en.wikipedia.org/wiki/Go_(language)"},
	},
	{
		name: "www without scheme",
		body: "Visit www.akti.fyi/promo, or reply STOP to opt out",
		want: []string{"www.akti.fyi/promo"},
	},
	{
		name: "bare domain at end of sentence",
		body: "Thanks for joining! Manage your plan at akti.fyi.",
		want: []string{"akti.fyi"},
	},
	{
		name: "several urls and a repeat",
		body: "Deal: https://link.akti.fyi/a1b2c3 Info: https://akti.fyi/faq " +
			"Deal again: https://link.akti.fyi/a1b2c3",
		want: []string{"https://link.akti.fyi/a1b2c3", "https://akti.fyi/faq"},
	},
	{
		name: "same link with and without scheme",
		body: "link.akti.fyi/abc123 = https://link.akti.fyi/abc123",
		want: []string{"link.akti.fyi/abc123", "https://link.akti.fyi/abc123"},
	},
	{
		name: "runs of punctuation",
		body: "Wow!!! https://x.test/a?!... really?",
		want: []string{"https://x.test/a"},
	},
	{
		name: "query and fragment kept",
		body: "Pay here: https://pay.example.com/checkout?id=42&ref=sms#top.",
		want: []string{"https://pay.example.com/checkout?id=42&ref=sms#top"},
	},
	{
		name: "short link with query",
		body: "Open link.akti.fyi/abc123?utm_source=sms. Thanks",
		want: []string{"link.akti.fyi/abc123?utm_source=sms"},
	},
	{
		name: "short link with trailing slash",
		body: "Tap link.akti.fyi/abc123/ to confirm",
		want: []string{"link.akti.fyi/abc123/"},
	},
	{
		name: "short link code cut at a dot",
		body: "See link.akti.fyi/abc123.Next week we close",
		want: []string{"link.akti.fyi/abc123"},
	},
	{
		name: "markdown link",
		body: "[Shop now](https://x.test/shop)",
		want: []string{"https://x.test/shop"},
	},
	{
		name: "upper case scheme and host",
		body: "VISIT HTTPS://LINK.AKTI.FYI/ABC123 NOW",
		want: []string{"HTTPS://LINK.AKTI.FYI/ABC123"},
	},
	{
		name: "quoted",
		body: `Click "https://x.test/a" or 'www.x.test/b'`,
		want: []string{"https://x.test/a", "www.x.test/b"},
	},
	{
		name: "ellipsis",
		body: "More at https://x.test/blog… and soon",
		want: []string{"https://x.test/blog"},
	},

	// Emoji and other symbols glued on.
	{
		name: "emoji on both sides",
		body: "👉https://x.test/a👈 tap now 🎉",
		want: []string{"https://x.test/a"},
	},
	{
		name: "emoji around bare short link",
		body: "🎁link.akti.fyi/gift1🎁🎁",
		want: []string{"link.akti.fyi/gift1"},
	},
	{
		name: "emoji with variation selector",
		body: "We ❤️https://x.test/love❤️!",
		want: []string{"https://x.test/love"},
	},
	{
		name: "keycap emoji glued after",
		body: "Steps: https://x.test/a1️⃣ https://x.test/b#️⃣",
		want: []string{"https://x.test/a", "https://x.test/b"},
	},
	{
		name: "zero-width space",
		body: "https://x.test/a\u200bb",
		want: []string{"https://x.test/a"},
	},

	// Spanish, French, German, Portuguese.
	{
		name: "spanish",
		body: "¡Hola María! Tu cita es el viernes a las 12.30. Confirma en " +
			"https://link.akti.fyi/es42Qa?",
		want: []string{"https://link.akti.fyi/es42Qa"},
	},
	{
		name: "spanish www",
		body: "¿Ya viste la oferta? www.tienda.es/ofertas-verano.",
		want: []string{"www.tienda.es/ofertas-verano"},
	},
	{
		name: "french guillemets",
		body: "Bonjour ! Votre colis arrive demain. Suivi : " +
			"«https://link.akti.fyi/fr7Zt2» Merci",
		want: []string{"https://link.akti.fyi/fr7Zt2"},
	},
	{
		name: "french percent",
		body: "Profitez de -3.5% sur tout : " +
			"https://boutique.example.fr/soldes !",
		want: []string{"https://boutique.example.fr/soldes"},
	},
	{
		name: "german quotes and email",
		body: "Hallo! Ihr Termin am 03.05. um 14.30 Uhr: " +
			"„https://link.akti.fyi/De9kLm“ Fragen: info@praxis.de",
		want: []string{"https://link.akti.fyi/De9kLm"},
	},
	{
		name: "german idn host",
		body: "Neu bei uns: https://bücher.de/x und mehr",
		want: []string{"https://bücher.de/x"},
	},
	{
		name: "german umlaut path",
		body: "Jetzt ansehen: https://x.test/größen.",
		want: []string{"https://x.test/größen"},
	},
	{
		name: "portuguese",
		body: "Olá! Seu pedido foi enviado. Acompanhe: link.akti.fyi/pt3Xy9, " +
			"ou ligue (11) 98765-4321.",
		want: []string{"link.akti.fyi/pt3Xy9"},
	},

	// Cyrillic.
	{
		name: "russian",
		body: "Здравствуйте! Ваша скидка 15%: https://link.akti.fyi/ru8Qw1. " +
			"Подробнее: https://ru.wikipedia.org/wiki/Москва",
		want: []string{
			"https://link.akti.fyi/ru8Qw1",
			"https://ru.wikipedia.org/wiki/Москва",
		},
	},
	{
		name: "russian glued",
		body: "Ссылка:https://link.akti.fyi/ru8Qw1Подробнее",
		want: []string{"https://link.akti.fyi/ru8Qw1"},
	},
	{
		name: "russian glued after full stop",
		body: "Заходите на https://x.test/a.Скидки",
		want: []string{"https://x.test/a"},
	},
	{
		name: "russian glued before www",
		body: "Сайтwww.magazin.ru/akcii работает",
		want: []string{"www.magazin.ru/akcii"},
	},
	{
		name: "russian idn host",
		body: "Наш сайт пример.рф/акции ждёт вас",
		want: []string{"пример.рф/акции"},
	},

	// Right-to-left scripts.
	{
		name: "arabic",
		body: "مرحبا! احصل على خصم 20% الآن: https://link.akti.fyi/ar5Tg2 شكرا",
		want: []string{"https://link.akti.fyi/ar5Tg2"},
	},
	{
		name: "arabic glued",
		body: "اضغط هناhttps://link.akti.fyi/ar5Tg2للمزيد",
		want: []string{"https://link.akti.fyi/ar5Tg2"},
	},
	{
		name: "hebrew",
		body: "שלום! לפרטים: https://link.akti.fyi/he2Rk8. תודה",
		want: []string{"https://link.akti.fyi/he2Rk8"},
	},
	{
		name: "hebrew with right-to-left marks",
		body: "לחצו כאן\u200fhttps://link.akti.fyi/he2Rk8\u200f",
		want: []string{"https://link.akti.fyi/he2Rk8"},
	},

	// CJK.
	{
		name: "chinese glued",
		body: "点击https://link.akti.fyi/abc123查看详情",
		want: []string{"https://link.akti.fyi/abc123"},
	},
	{
		name: "chinese glued bare short link",
		body: "点击link.akti.fyi/abc123查看，谢谢！",
		want: []string{"link.akti.fyi/abc123"},
	},
	{
		name: "chinese punctuation",
		body: "您的专属链接：https://link.akti.fyi/abc123。请勿转发！",
		want: []string{"https://link.akti.fyi/abc123"},
	},
	{
		name: "chinese fullwidth parentheses",
		body: "详情（https://x.test/a）",
		want: []string{"https://x.test/a"},
	},
	{
		name: "chinese glued domain with digits",
		body: "点击1688.com查看",
		want: []string{"1688.com"},
	},
	{
		name: "chinese glued host without path",
		body: "访问https://shop.example.cn了解更多",
		want: []string{"https://shop.example.cn"},
	},
	{
		name: "japanese",
		body: "詳しくはhttps://link.akti.fyi/Jp4x9をご覧ください。",
		want: []string{"https://link.akti.fyi/Jp4x9"},
	},
	{
		name: "japanese brackets",
		body: "【セール】今すぐ→https://shop.example.jp/sale】",
		want: []string{"https://shop.example.jp/sale"},
	},

	// Hindi, Turkish.
	{
		name: "hindi",
		body: "नमस्ते! अपना ऑफ़र देखें: https://link.akti.fyi/hi6Yu3 धन्यवाद।",
		want: []string{"https://link.akti.fyi/hi6Yu3"},
	},
	{
		name: "hindi glued",
		body: "यहाँ क्लिक करेंhttps://link.akti.fyi/hi6Yu3पर",
		want: []string{"https://link.akti.fyi/hi6Yu3"},
	},
	{
		name: "turkish suffix on short link",
		body: "Merhaba! Kampanya detayları için " +
			"https://link.akti.fyi/tr1Op5'e tıklayın.",
		want: []string{"https://link.akti.fyi/tr1Op5"},
	},
	{
		name: "turkish suffix on other link",
		body: "Siparişiniz yolda, www.kargo.com.tr/takip'ten bakabilirsiniz",
		want: []string{"www.kargo.com.tr/takip"},
	},
	{
		name: "turkish suffix with dotless i",
		body: "Detaylar https://x.test/kampanya'yı inceleyin",
		want: []string{"https://x.test/kampanya"},
	},

	// What is not a URL.
	{
		name: "no links",
		body: "Your appointment is confirmed. See you soon!",
	},
	{
		name: "empty",
	},
	{
		name: "emails",
		body: "Questions? Email john@example.com, hello.world@gmail.com " +
			"or support@akti.fyi",
	},
	{
		name: "email next to link",
		body: "Write to info@akti.fyi or visit akti.fyi/help",
		want: []string{"akti.fyi/help"},
	},
	{
		name: "other schemes",
		body: "Write mailto:john@example.com, call tel:+15551234567, text " +
			"sms:+15551234567 or get ftp://files.example.com/a",
	},
	{
		name: "times, prices and phone numbers",
		body: "Meet at 12.30 or 10:30, prices up 3.5%, v1.2.3, call " +
			"+1 (555) 123-4567 or 555.123.4567 at 5 p.m. e.g. today",
	},
	{
		name: "ip without scheme not on short host",
		body: "Server 10.0.0.1 or 192.168.1.1:8080/admin is down",
	},
	{
		name: "ip with scheme",
		body: "Admin: http://192.168.1.1/admin",
		want: []string{"http://192.168.1.1/admin"},
	},
	{
		name: "bare ipv6",
		body: "Error at 2001:db8::1, see log",
	},
	{
		name: "scheme with no host",
		body: "Type https://👍 in the bar",
	},

	// Other short hosts.
	{
		name: "ip short host without scheme",
		host: "127.0.0.1:8080",
		body: "Try 127.0.0.1:8080/abc, or http://127.0.0.1:8080/def.",
		want: []string{"127.0.0.1:8080/abc", "http://127.0.0.1:8080/def"},
	},
	{
		name: "ip short host glued to chinese",
		host: "127.0.0.1:8080",
		body: "点击127.0.0.1:8080/abc查看",
		want: []string{"127.0.0.1:8080/abc"},
	},
	{
		name: "ip short host other port",
		host: "127.0.0.1:8080",
		body: "Try 127.0.0.1:9090/abc",
	},
	{
		name: "localhost short host",
		host: "localhost:8080",
		body: "Dev link: localhost:8080/abc123. Or LOCALHOST:8080/x1'e",
		want: []string{"localhost:8080/abc123", "LOCALHOST:8080/x1"},
	},
	{
		name: "localhost short host inside a word",
		host: "localhost:8080",
		body: "notlocalhost:8080/abc",
	},
	{
		name: "short host without dot or port",
		host: "intranet",
		body: "See intranet/abc123 or https://intranet/def!",
		want: []string{"intranet/abc123", "https://intranet/def"},
	},
}

// finders returns a finder for each short host of cases, built once.
func finders(tb testing.TB, cases []urlCase) map[string]*URLFinder {
	tb.Helper()
	fs := make(map[string]*URLFinder)
	for _, tc := range cases {
		host := tc.host
		if host == "" {
			host = testShortHost
		}
		if fs[host] == nil {
			fs[host] = NewURLFinder(host)
		}
	}
	return fs
}

func TestURLFinderDistinct(t *testing.T) {
	fs := finders(t, urlCases)
	for _, tc := range urlCases {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = testShortHost
			}
			got := fs[host].Distinct(tc.body)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Distinct(%q) mismatch (-want +got):\n%s",
					tc.body, diff)
			}
		})
	}
}

func TestURLFinderFindSpans(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Span
	}{
		{
			name: "chinese glued",
			body: "点击https://link.akti.fyi/abc123查看",
			want: []Span{{"https://link.akti.fyi/abc123", 6, 34}},
		},
		{
			name: "chinese glued bare",
			body: "点击link.akti.fyi/abc123查看",
			want: []Span{{"link.akti.fyi/abc123", 6, 26}},
		},
		{
			name: "duplicates kept in order",
			body: "Go (https://x.test/a) and https://x.test/a.",
			want: []Span{
				{"https://x.test/a", 4, 20},
				{"https://x.test/a", 26, 42},
			},
		},
		{
			name: "emoji",
			body: "👉https://x.test/a👈",
			want: []Span{{"https://x.test/a", 4, 20}},
		},
		{
			name: "russian",
			body: "Ссылка: link.akti.fyi/ru8Qw1.",
			want: []Span{{"link.akti.fyi/ru8Qw1", 14, 34}},
		},
		{
			name: "none",
			body: "Call me at 12.30",
		},
	}

	f := NewURLFinder(testShortHost)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := f.Find(tc.body)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Find(%q) mismatch (-want +got):\n%s", tc.body, diff)
			}
		})
	}
}

func TestURLFinderZeroValue(t *testing.T) {
	var f URLFinder
	body := "See www.x.com/a, link.akti.fyi/abc123 and 127.0.0.1:8080/abc."
	want := []string{"www.x.com/a", "link.akti.fyi/abc123"}
	if diff := cmp.Diff(want, f.Distinct(body)); diff != "" {
		t.Errorf("Distinct mismatch (-want +got):\n%s", diff)
	}
}

func TestURLFinderConcurrent(t *testing.T) {
	f := NewURLFinder("localhost:8080")
	body := "点击localhost:8080/abc123查看 or https://x.test/a."
	want := []string{"localhost:8080/abc123", "https://x.test/a"}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if diff := cmp.Diff(want, f.Distinct(body)); diff != "" {
					t.Errorf("Distinct mismatch (-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkFind(b *testing.B) {
	f := NewURLFinder(testShortHost)
	body := "Hi Maria, your 20% discount on all summer items is waiting! " +
		"Shop now at https://link.akti.fyi/Xk3p9QaZ before Sunday at " +
		"midnight. Reply STOP to opt out."
	if len(body) < 150 || len(body) > 170 {
		b.Fatalf("body is %d bytes, want about 160", len(body))
	}
	if got := f.Find(body); len(got) != 1 {
		b.Fatalf("Find found %d urls, want 1", len(got))
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		f.Find(body)
	}
}
