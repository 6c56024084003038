package transport

import (
	"crypto/tls"
	"net/http"
	"testing"
)

// TestOriginAllowed checks the origin rule of docs/protocol.md: no
// Origin, the request's own host and port (default ports made explicit,
// scheme ignored), the loopback names on any port, or a configured
// pattern.
func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name     string
		origin   string // "" sends no Origin header
		host     string // the request's Host
		tls      bool   // the request came over TLS
		patterns []string
		want     bool
	}{
		// Not a browser.
		{name: "no origin", host: "chat.example.com:3005", want: true},

		// Same origin.
		{name: "same host and port", origin: "http://chat.example.com:3005", host: "chat.example.com:3005", want: true},
		{name: "same host, other port", origin: "http://chat.example.com:3006", host: "chat.example.com:3005", want: false},
		{name: "other host, same port", origin: "http://other.example.com:3005", host: "chat.example.com:3005", want: false},
		{name: "host case is ignored", origin: "http://Chat.Example.COM:3005", host: "chat.EXAMPLE.com:3005", want: true},
		{name: "origin with a trailing slash", origin: "http://chat.example.com:3005/", host: "chat.example.com:3005", want: true},

		// Default ports are explicit: 80 for http, 443 for https, and the
		// request's own port is 80 over plain HTTP, 443 over TLS.
		{name: "http default port vs explicit :80 host", origin: "http://example.com", host: "example.com:80", want: true},
		{name: "explicit :80 origin vs bare host", origin: "http://example.com:80", host: "example.com", want: true},
		{name: "http origin vs bare host", origin: "http://example.com", host: "example.com", want: true},
		{name: "https origin vs bare host over plain HTTP", origin: "https://example.com", host: "example.com", want: false},
		{name: "https origin vs :80 host", origin: "https://example.com", host: "example.com:80", want: false},
		{name: "https origin vs :443 host", origin: "https://example.com", host: "example.com:443", want: true},
		{name: "https origin vs bare host over TLS", origin: "https://example.com", host: "example.com", tls: true, want: true},
		{name: "explicit :443 origin vs bare host over TLS", origin: "https://example.com:443", host: "example.com", tls: true, want: true},
		{name: "http origin vs bare host over TLS", origin: "http://example.com", host: "example.com", tls: true, want: false},

		// The scheme itself is ignored: only host and port count.
		{name: "https origin with the request's port", origin: "https://chat.example.com:3005", host: "chat.example.com:3005", want: true},
		{name: "ws scheme", origin: "ws://chat.example.com:3005", host: "chat.example.com:3005", want: true},
		{name: "odd scheme", origin: "app://chat.example.com:3005", host: "chat.example.com:3005", want: true},

		// Loopback names, any port, whatever the Host.
		{name: "localhost dev port", origin: "http://localhost:3000", host: "chat.example.com:3005", want: true},
		{name: "localhost no port", origin: "http://localhost", host: "127.0.0.1:3005", want: true},
		{name: "localhost https", origin: "https://localhost:8443", host: "chat.example.com", want: true},
		{name: "127.0.0.1", origin: "http://127.0.0.1:5173", host: "chat.example.com:3005", want: true},
		{name: "[::1]", origin: "http://[::1]:8080", host: "chat.example.com:3005", want: true},
		{name: "[::1] no port", origin: "http://[::1]", host: "chat.example.com:3005", want: true},
		{name: "LOCALHOST upper case", origin: "http://LOCALHOST:3000", host: "chat.example.com:3005", want: true},

		// Hostnames are compared whole, never by prefix or suffix.
		{name: "localhost as a prefix", origin: "http://localhost.evil.example", host: "127.0.0.1:3005", want: false},
		{name: "localhost as a prefix with port", origin: "http://localhost.evil.example:3005", host: "localhost:3005", want: false},
		{name: "127.0.0.1 as a prefix", origin: "http://127.0.0.1.evil.example", host: "127.0.0.1:3005", want: false},
		{name: "localhost as a suffix", origin: "http://evillocalhost:3000", host: "127.0.0.1:3005", want: false},
		{name: "localhost as userinfo", origin: "http://localhost@evil.example", host: "127.0.0.1:3005", want: false},
		{name: "localhost in the path", origin: "http://evil.example/localhost", host: "127.0.0.1:3005", want: false},
		{name: "request host as a prefix", origin: "http://chat.example.com.evil.example:3005", host: "chat.example.com:3005", want: false},
		{name: "other IPv6 loopback spelling", origin: "http://[0:0:0:0:0:0:0:1]:3000", host: "chat.example.com:3005", want: false},
		{name: "foreign origin", origin: "http://evil.example", host: "127.0.0.1:3005", want: false},
		{name: "foreign origin, same port", origin: "http://evil.example:3005", host: "127.0.0.1:3005", want: false},

		// Malformed origins.
		{name: "no host", origin: "file:///etc/passwd", host: "127.0.0.1:3005", want: false},
		{name: "not a URL", origin: "%zz", host: "127.0.0.1:3005", want: false},
		{name: "bare hostname", origin: "chat.example.com", host: "chat.example.com", want: false},
		{name: "bad port", origin: "http://localhost:abc", host: "localhost:abc", want: false},

		// Origin: null only when configured.
		{name: "null refused", origin: "null", host: "127.0.0.1:3005", want: false},
		{name: "null refused by other patterns", origin: "null", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: false},
		{name: "null configured", origin: "null", host: "127.0.0.1:3005", patterns: []string{"null"}, want: true},

		// Configured patterns.
		{name: "wildcard subdomain", origin: "https://chat.example.com", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: true},
		{name: "wildcard subdomain http", origin: "http://a-b.example.com", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: true},
		{name: "wildcard subdomain explicit default port", origin: "https://chat.example.com:443", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: true},
		{name: "wildcard pattern case", origin: "https://chat.example.com", host: "127.0.0.1:3005", patterns: []string{"*.EXAMPLE.com"}, want: true},
		{name: "wildcard does not match the apex", origin: "https://example.com", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: false},
		{name: "wildcard does not match as a prefix", origin: "https://chat.example.com.evil.example", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: false},
		{name: "wildcard does not match another port", origin: "https://chat.example.com:8443", host: "127.0.0.1:3005", patterns: []string{"*.example.com"}, want: false},
		{name: "pattern with port", origin: "https://chat.example.com:8443", host: "127.0.0.1:3005", patterns: []string{"chat.example.com:8443"}, want: true},
		{name: "pattern with port, other port", origin: "https://chat.example.com:9443", host: "127.0.0.1:3005", patterns: []string{"chat.example.com:8443"}, want: false},
		{name: "one of several patterns", origin: "https://app.example.org", host: "127.0.0.1:3005", patterns: []string{"*.example.com", "app.example.org", "null"}, want: true},
		{name: "unlisted with patterns", origin: "https://evil.example", host: "127.0.0.1:3005", patterns: []string{"*.example.com", "null"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "http://"+tt.host+"/chat", nil)
			if err != nil {
				// Some hosts are not valid in a URL; set Host by hand.
				r, err = http.NewRequest(http.MethodGet, "http://placeholder/chat", nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := originAllowed(r, clientOf(r, nil), tt.patterns); got != tt.want {
				t.Errorf("originAllowed(Origin %q, Host %q, tls %v, patterns %q) = %v, want %v",
					tt.origin, tt.host, tt.tls, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestConfigValidateOrigins(t *testing.T) {
	if err := (Config{AllowedOrigins: []string{"*.example.com", "null", "chat.example.com:8443"}}).Validate(); err != nil {
		t.Fatalf("valid patterns refused: %v", err)
	}
	if err := (Config{AllowedOrigins: []string{"[a-"}}).Validate(); err == nil {
		t.Fatal("a malformed pattern was accepted")
	}
}
