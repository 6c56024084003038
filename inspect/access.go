package inspect

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// cookieName is the cookie that carries the admin token once a browser
// opened the page with ?token=.
const cookieName = "statecast_inspect"

// allowed reports whether r may read the inspector: it carries the admin
// token (an Authorization: Bearer header, or the cookie), or it comes from
// a loopback address without having passed through a proxy (a request
// that names a client in Forwarded or X-Forwarded-For counts as remote).
func (h *Handler) allowed(r *http.Request) bool {
	if h.token != "" {
		if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && h.tokenIs(auth) {
			return true
		}
		if c, err := r.Cookie(cookieName); err == nil && h.tokenIs(c.Value) {
			return true
		}
	}
	return loopback(r)
}

func (h *Handler) tokenIs(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(h.token)) == 1
}

func loopback(r *http.Request) bool {
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard answers 401 to a request that is not allowed. A request with the
// right ?token= gets the cookie and is sent to the same URL without it, so
// that the token leaves the address bar.
func (h *Handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.URL.Query().Get("token"); t != "" && h.token != "" && h.tokenIs(t) {
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: t, Path: "/inspect", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !h.allowed(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="statecast inspect"`)
			http.Error(w, "the inspector needs the admin token (-inspect-token) or a loopback client", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
