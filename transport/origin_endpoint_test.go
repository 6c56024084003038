package transport_test

// Origin checks of the handshake (docs/protocol.md, "Endpoint"), end to
// end against a real server.

import (
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

func TestOriginEndToEnd(t *testing.T) {
	s := chattest.Start(t, server.Config{})
	_, port, _ := net.SplitHostPort(s.Addr().String())
	p, _ := strconv.Atoi(port)
	otherPort := strconv.Itoa(p + 1)
	tests := []struct {
		host, origin string
		want         int
	}{
		{"", "", 101},                            // not a browser
		{"", "http://" + s.Addr().String(), 101}, // same origin
		{"chat.example.com:" + port, "http://chat.example.com:" + port, 101},
		{"chat.example.com:" + port, "https://chat.example.com:" + port, 101}, // scheme ignored
		{"chat.example.com:" + port, "http://chat.example.com:" + otherPort, 403},
		{"example.com:80", "http://example.com", 101},      // default port made explicit
		{"example.com", "http://example.com:80", 101},      // ... both ways
		{"example.com", "https://example.com", 403},        // 443 is not 80
		{"chat.example.com", "http://localhost:3000", 101}, // loopback, any port
		{"chat.example.com", "http://127.0.0.1:5173", 101}, // loopback
		{"chat.example.com", "http://[::1]:8080", 101},     // loopback
		{"", "http://localhost.evil.example", 403},         // not loopback
		{"", "http://localhost.evil.example:" + port, 403}, // not loopback
		{"", "http://evil.example", 403},                   // foreign
		{"", "null", 403},                                  // not configured
		{"", "https://chat.example.com", 403},              // not configured
		{"chat.example.com:" + port, "http://evil.example:" + port, 403},
	}
	for _, tt := range tests {
		if got := rawUpgrade(t, s, "/chat", tt.host, tt.origin); got != tt.want {
			t.Errorf("Host %q Origin %q: HTTP %d, want %d", tt.host, tt.origin, got, tt.want)
		}
	}
	// The coder/websocket client's own handshake agrees, and a refused
	// origin is answered before the upgrade: no socket, no session.
	if got := dialStatus(t, s, "/chat", http.Header{"Origin": {"http://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("dial with a foreign origin: HTTP %d, want 403", got)
	}
	if got := dialStatus(t, s, "/chat", http.Header{"Origin": {"http://localhost:3000"}}); got != http.StatusSwitchingProtocols {
		t.Errorf("dial with a loopback origin: HTTP %d, want 101", got)
	}
	c, err := dialHeader(t, s, "/chat", http.Header{"Origin": {"http://localhost:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Send(map[string]any{"event": "connecting", "id": "1", "username": "ann"})
	c.Expect("connected")
}

func TestOriginConfigured(t *testing.T) {
	s := chattest.Start(t, server.Config{Transport: transport.Config{AllowedOrigins: []string{"*.example.com", "null"}}})
	tests := []struct {
		origin string
		want   int
	}{
		{"https://chat.example.com", 101},
		{"http://a.example.com", 101},
		{"null", 101},
		{"https://example.com", 403},
		{"https://chat.example.com.evil.example", 403},
		{"http://evil.example", 403},
		{"http://localhost:3000", 101},
	}
	for _, tt := range tests {
		if got := rawUpgrade(t, s, "/chat", "", tt.origin); got != tt.want {
			t.Errorf("Origin %q: HTTP %d, want %d", tt.origin, got, tt.want)
		}
	}
	c, err := dialHeader(t, s, "/chat", http.Header{"Origin": {"https://chat.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Send(map[string]any{"event": "connecting", "id": "1", "username": "ann"})
	c.Expect("connected")

	only := chattest.Start(t, server.Config{Transport: transport.Config{AllowedOrigins: []string{"null"}}})
	if got := rawUpgrade(t, only, "/chat", "", "null"); got != 101 {
		t.Errorf("-allowed-origins null, Origin null: HTTP %d, want 101", got)
	}
	if got := rawUpgrade(t, only, "/chat", "", "https://chat.example.com"); got != 403 {
		t.Errorf("-allowed-origins null, Origin https://chat.example.com: HTTP %d, want 403", got)
	}
}
