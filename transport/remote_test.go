package transport

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"testing"
)

// TestClientOf: the client address and the scheme and host its browser
// used come from forwarding headers only when the peer is a trusted proxy.
func TestClientOf(t *testing.T) {
	t.Parallel()
	trusted, err := ParseCIDRs("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		peer    string
		tls     bool
		headers map[string][]string
		want    client
	}{
		{"direct", "203.0.113.5:4000", false, nil, client{remote: "203.0.113.5", host: "chat"}},
		{"direct tls", "203.0.113.5:4000", true, nil, client{remote: "203.0.113.5", tls: true, host: "chat"}},
		{"spoofed headers from an untrusted peer", "203.0.113.5:4000", false, map[string][]string{
			"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"},
			"Forwarded": {"for=198.51.100.9;proto=https"}},
			client{remote: "203.0.113.5", host: "chat"}},
		{"from a trusted proxy", "10.1.2.3:4000", false, map[string][]string{
			"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"chat.example.com"}},
			client{remote: "198.51.100.9", tls: true, host: "chat.example.com"}},
		{"the rightmost untrusted hop", "10.1.2.3:4000", false, map[string][]string{
			"X-Forwarded-For": {"6.6.6.6, 198.51.100.9", "10.9.9.9"}},
			client{remote: "198.51.100.9", host: "chat"}},
		{"every hop trusted: the leftmost", "10.1.2.3:4000", false, map[string][]string{
			"X-Forwarded-For": {"10.0.0.7, 192.0.2.1"}},
			client{remote: "10.0.0.7", host: "chat"}},
		{"hops with ports and brackets", "192.0.2.1:4000", false, map[string][]string{
			"X-Forwarded-For": {"[2001:db8::1]:5555"}},
			client{remote: "2001:db8::1", host: "chat"}},
		{"Forwarded when there is no X-Forwarded-For", "10.1.2.3:4000", false, map[string][]string{
			"Forwarded": {`for=6.6.6.6, for="[2001:db8::7]:80";proto=https;host=chat.example.com`}},
			client{remote: "2001:db8::7", tls: true, host: "chat.example.com"}},
		{"a trusted proxy that forwards nothing", "10.1.2.3:4000", true, nil, client{remote: "10.1.2.3", tls: true, host: "chat"}},
		{"plain http forwarded by a TLS listener's proxy", "10.1.2.3:4000", true, map[string][]string{
			"X-Forwarded-For": {"198.51.100.9"}, "X-Forwarded-Proto": {"http"}},
			client{remote: "198.51.100.9", host: "chat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &http.Request{RemoteAddr: tt.peer, Host: "chat", Header: http.Header{}}
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := clientOf(r, trusted); got != tt.want {
				t.Fatalf("clientOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseCIDRs(t *testing.T) {
	t.Parallel()
	got, err := ParseCIDRs(" 10.1.0.0/16 ,::1, 192.0.2.9/24,")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.0.2.0/24")}
	if len(got) != len(want) {
		t.Fatalf("ParseCIDRs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ParseCIDRs = %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.local", "10.0.0.0/8,nope"} {
		if _, err := ParseCIDRs(bad); err == nil {
			t.Errorf("ParseCIDRs(%q) accepted", bad)
		}
	}
}
