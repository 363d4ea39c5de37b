package web

import "testing"

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
