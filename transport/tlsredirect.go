package transport

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// redirectHandler answers every plain HTTP request with a permanent
// redirect to the same host, path and query over HTTPS on port (left out
// when it is 443).
func redirectHandler(port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "this server speaks HTTPS only", http.StatusBadRequest)
			return
		}
		if port != 443 {
			host = net.JoinHostPort(host, strconv.Itoa(port))
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// newRedirectServer returns the plain HTTP server of Config.HTTPRedirect,
// redirecting to the HTTPS listener at tlsAddr.
func newRedirectServer(tlsAddr net.Addr) *http.Server {
	port := 443
	if a, ok := tlsAddr.(*net.TCPAddr); ok {
		port = a.Port
	}
	return &http.Server{
		Handler:           redirectHandler(port),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
}
