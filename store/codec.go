package store

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/akti/linkd/shortener"
)

// errCorrupt reports a stored record that does not decode.
var errCorrupt = errors.New("corrupt record")

// linkFormat is the first byte of a stored link.
const linkFormat = 1

// encodeLink writes a link as its format byte, its flags (bit 0:
// disabled, bit 1: has an expiry), its creation and expiry times in Unix
// nanoseconds, then URL, campaign, phone and external lead id, each after
// its length as a uvarint. The code is the key. The redirect path decodes
// this on every cache miss, so it avoids reflection.
func encodeLink(l *shortener.Link) []byte {
	n := 1 + 1 + 16 + 4*binary.MaxVarintLen32 + len(l.URL) +
		len(l.CampaignID) + len(l.Phone) + len(l.ExternalLeadID)
	v := make([]byte, 0, n)
	var flags byte
	var exp int64
	if l.Disabled {
		flags |= 1
	}
	if l.ExpiresAt != nil {
		flags |= 2
		exp = l.ExpiresAt.UnixNano()
	}
	v = append(v, linkFormat, flags)
	v = binary.BigEndian.AppendUint64(v, uint64(l.CreatedAt.UnixNano()))
	v = binary.BigEndian.AppendUint64(v, uint64(exp))
	for _, s := range []string{l.URL, l.CampaignID, l.Phone, l.ExternalLeadID} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	return v
}

// createdBytes returns the creation time of the link record v as
// encodeLink wrote it, eight big-endian bytes of Unix nanoseconds, or
// nil for a record too short to hold one.
func createdBytes(v []byte) []byte {
	if len(v) < 10 {
		return nil
	}
	return v[2:10]
}

// decodeLink reads what encodeLink wrote for code.
func decodeLink(code string, v []byte) (*shortener.Link, error) {
	if len(v) < 18 || v[0] != linkFormat {
		return nil, errCorrupt
	}
	l := &shortener.Link{Code: code, Disabled: v[1]&1 != 0,
		CreatedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[2:]))).UTC()}
	if v[1]&2 != 0 {
		t := time.Unix(0, int64(binary.BigEndian.Uint64(v[10:]))).UTC()
		l.ExpiresAt = &t
	}
	rest := v[18:]
	for _, dst := range []*string{&l.URL, &l.CampaignID, &l.Phone,
		&l.ExternalLeadID} {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, errCorrupt
		}
		*dst = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	return l, nil
}
