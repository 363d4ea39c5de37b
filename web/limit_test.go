package web

import "testing"

func TestLimitKey(t *testing.T) {
	tests := []struct{ client, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"::ffff:203.0.113.7", "::ffff:203.0.113.7"},
		{"not-an-address", "not-an-address"},
	}
	for _, tt := range tests {
		if got := limitKey(tt.client); got != tt.want {
			t.Errorf("limitKey(%q) = %q, want %q", tt.client, got, tt.want)
		}
	}
}
