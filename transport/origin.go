package transport

import (
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// originAllowed applies the origin rule of docs/protocol.md: no Origin
// (not a browser), the same host and port as the request, a loopback
// hostname, or a configured pattern. Hostnames are compared whole, never
// by prefix.
// The request's scheme and host are the ones the browser used (c): behind
// a trusted TLS-terminating proxy, those it forwarded.
func originAllowed(r *http.Request, c client, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if origin == "null" {
		return matchesAny(patterns, "null")
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	def := defaultPort(u.Scheme)
	host := strings.ToLower(hostPort(u.Host, def))
	switch strings.ToLower(u.Hostname()) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	reqPort := "80"
	if c.tls {
		reqPort = "443"
	}
	if host == strings.ToLower(hostPort(c.host, reqPort)) {
		return true
	}
	if matchesAny(patterns, host) {
		return true
	}
	// A pattern without a port names the scheme's default port, however
	// the origin spells it.
	if p := u.Port(); p == "" || p == def {
		return matchesAny(patterns, strings.TrimSuffix(host, ":"+def))
	}
	return false
}

// hostPort makes the port of host explicit.
func hostPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host + ":" + port
	}
	return net.JoinHostPort(host, port)
}

func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "https", "wss":
		return "443"
	}
	return "80"
}

func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), s); ok {
			return true
		}
	}
	return false
}
