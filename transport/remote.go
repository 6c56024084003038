package transport

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// client is who made a request, as far as the server can trust it: the
// client's IP address, and the scheme and host its browser used.
type client struct {
	remote string // the client's IP address (or the peer's address as given)
	tls    bool   // the browser used https (wss)
	host   string // the Host the browser asked for
}

// clientOf tells who made r. The peer is the client unless it is a
// trusted proxy: then the client is the rightmost hop of X-Forwarded-For
// (else of Forwarded) that is not a trusted proxy itself, and the proxy's
// X-Forwarded-Proto and X-Forwarded-Host (else Forwarded's proto and host)
// say how the browser reached it. Headers from any other peer are
// ignored: anyone can send them.
func clientOf(r *http.Request, trusted []netip.Prefix) client {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	c := client{remote: peer, tls: r.TLS != nil, host: r.Host}
	if !isTrusted(peer, trusted) {
		return c
	}
	hops, proto, host := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		c.remote = hops[i]
		if !isTrusted(hops[i], trusted) {
			break
		}
	}
	switch strings.ToLower(proto) {
	case "https", "wss":
		c.tls = true
	case "http", "ws":
		c.tls = false
	}
	if host != "" {
		c.host = host
	}
	return c
}

// forwardedFor reads the hops a request passed through, oldest first, and
// the scheme and host the first proxy saw: from the X-Forwarded-* headers
// when X-Forwarded-For is there, else from Forwarded (RFC 7239). Every
// instance of a header counts, in order.
func forwardedFor(h http.Header) (hops []string, proto, host string) {
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			for _, hop := range strings.Split(v, ",") {
				hops = append(hops, nodeAddress(strings.TrimSpace(hop)))
			}
		}
		return hops, lastValue(h.Values("X-Forwarded-Proto")), lastValue(h.Values("X-Forwarded-Host"))
	}
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				switch strings.ToLower(k) {
				case "for":
					hops = append(hops, nodeAddress(val))
				case "proto":
					proto = val
				case "host":
					host = val
				}
			}
		}
	}
	return hops, proto, host
}

// lastValue is the value the nearest proxy set: the last of a
// comma-separated list that several proxies may have extended.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// nodeAddress strips a port and IPv6 brackets from a hop: "1.2.3.4:5",
// "[::1]:5" and "[::1]" give the bare address.
func nodeAddress(hop string) string {
	if host, _, err := net.SplitHostPort(hop); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(hop, "["), "]")
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseCIDRs parses a comma-separated list of networks ("10.0.0.0/8,
// fd00::/8"); a bare address stands for itself alone.
func ParseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
