package web

import (
	"testing"
	"time"
)

func TestLoneSurrogate(t *testing.T) {
	tests := []struct {
		name string
		json string
		want bool
	}{
		{"no escapes", `{"a":"plain text 🌷"}`, false},
		{"other escapes", `{"a":"tab\t quote\" slash\/ \u00e9"}`, false},
		{"pair", `{"a":"\ud83c\udf37"}`, false},
		{"pair in upper case", `{"a":"\uD83C\uDF37"}`, false},
		{"two pairs", `{"a":"\ud83c\udf37\ud83c\udf37"}`, false},
		{"escaped backslash before u", `{"a":"\\ud800"}`, false},
		{"lone high", `{"a":"x\ud800y"}`, true},
		{"lone high at the end", `{"a":"\ud800"}`, true},
		{"high then other escape", `{"a":"\ud800\n"}`, true},
		{"high then non-surrogate", `{"a":"\ud800\u0041"}`, true},
		{"two highs", `{"a":"\ud800\ud800"}`, true},
		{"lone low", `{"a":"\udc00"}`, true},
		{"low then high", `{"a":"\udc00\ud800"}`, true},
		{"in a key", `{"\udfff":1}`, true},
		{"after an escaped backslash", `{"a":"\\\ud800"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loneSurrogate([]byte(tt.json)); got != tt.want {
				t.Errorf("loneSurrogate(%s) = %v, want %v", tt.json, got,
					tt.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // UTC, RFC 3339; empty: refused
	}{
		{"2026-01-28T12:00:00Z", "2026-01-28T12:00:00Z"},
		{"2026-01-28T12:00:00.5Z", "2026-01-28T12:00:00.5Z"},
		{"2026-01-28T14:00:00+02:00", "2026-01-28T12:00:00Z"},
		{"2026-01-28T12:00:00+23:59", "2026-01-27T12:01:00Z"},
		{"2026-01-28T12:00:00-23:59", "2026-01-29T11:59:00Z"},
		{"2026-01-28T12:00:00+24:00", ""},
		{"2026-01-28T12:00:00+23:60", ""},
		{"2026-01-28T12:00:00,5Z", ""},
		{"2026-01-28 12:00:00Z", ""},
		{"2026-01-28T12:00:00", ""},
		{"tomorrow", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := tt.in
			got, err := parseTime("at", &in)
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("parseTime(%q) = %v, want invalid_time", tt.in, got)
			case tt.want != "" && err != nil:
				t.Errorf("parseTime(%q): %v", tt.in, err)
			case tt.want != "" && got.Format(time.RFC3339Nano) != tt.want:
				t.Errorf("parseTime(%q) = %v, want %s", tt.in, got, tt.want)
			}
		})
	}
}
