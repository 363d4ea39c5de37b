// Package shortener holds linkd's links: what a short code points at, the
// rules a destination and a code must follow, and the resolver that turns a
// code into its link on the redirect path.
package shortener

import "time"

// Link is one per-lead short link. The zero value is not a valid link.
type Link struct {
	Code           string     `json:"code"`
	URL            string     `json:"url"`
	CampaignID     string     `json:"campaignId"`
	Phone          string     `json:"phone"`
	ExternalLeadID string     `json:"externalLeadId,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	ExpiresAt      *time.Time `json:"expiresAt"`
	Disabled       bool       `json:"disabled"`
}

// Live reports whether the link redirects at time now: it is neither
// disabled nor past its expiry.
func (l *Link) Live(now time.Time) bool {
	if l.Disabled {
		return false
	}
	return l.ExpiresAt == nil || now.Before(*l.ExpiresAt)
}

// ShortURL returns the link's short URL under base, which has no trailing
// slash.
func (l *Link) ShortURL(base string) string {
	return base + "/" + l.Code
}

// Destination returns where a tap on the link goes: the stored URL byte for
// byte, with the short URL's own raw query appended to the destination's
// query and the destination's fragment kept last. Bytes of the query that
// a URL may not hold raw (controls, space, non-ASCII, and #, which would
// start a fragment) are percent-encoded.
func (l *Link) Destination(rawQuery string) string {
	if rawQuery == "" {
		return l.URL
	}
	rawQuery = escapeQuery(rawQuery)
	base, frag := l.URL, ""
	for i := 0; i < len(base); i++ {
		if base[i] == '#' {
			base, frag = l.URL[:i], l.URL[i:]
			break
		}
	}
	sep := "?"
	for i := 0; i < len(base); i++ {
		if base[i] == '?' {
			sep = "&"
			break
		}
	}
	if n := len(base); n > 0 && (base[n-1] == '?' || base[n-1] == '&') {
		sep = ""
	}
	return base + sep + rawQuery + frag
}

// escapeQuery percent-encodes the bytes of q outside printable ASCII,
// and #.
func escapeQuery(q string) string {
	n := 0
	for i := 0; i < len(q); i++ {
		if escapeInQuery(q[i]) {
			n++
		}
	}
	if n == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		c := q[i]
		if escapeInQuery(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func escapeInQuery(c byte) bool { return c <= ' ' || c >= 0x7f || c == '#' }
