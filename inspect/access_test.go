package inspect_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAccess: remote clients need the admin token, as a Bearer header or
// the cookie that ?token= sets; loopback clients get in without one,
// unless the request came through a proxy.
func TestAccess(t *testing.T) {
	t.Parallel()
	h := open(t, recorded(t))
	serve := func(remote string, header http.Header, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const remote = "192.0.2.7:5000"
	for _, path := range []string{"/inspect/", "/inspect/api/actions", "/inspect/api/state", "/inspect/api/change?seq=1", "/inspect/static/inspect.js"} {
		if w := serve(remote, nil, path); w.Code != http.StatusUnauthorized {
			t.Errorf("remote %s without a token: %d, want 401", path, w.Code)
		}
		if w := serve(remote, http.Header{"Authorization": {"Bearer wrong"}}, path); w.Code != http.StatusUnauthorized {
			t.Errorf("remote %s with a wrong token: %d, want 401", path, w.Code)
		}
		if w := serve(remote, http.Header{"Authorization": {"Bearer " + token}}, path); w.Code != http.StatusOK {
			t.Errorf("remote %s with the token: %d, want 200", path, w.Code)
		}
		if w := serve("127.0.0.1:5000", nil, path); w.Code != http.StatusOK {
			t.Errorf("loopback %s: %d, want 200", path, w.Code)
		}
		if w := serve("[::1]:5000", http.Header{"X-Forwarded-For": {"192.0.2.7"}}, path); w.Code != http.StatusUnauthorized {
			t.Errorf("loopback proxy for a remote client, %s: %d, want 401", path, w.Code)
		}
	}
	w := serve(remote, nil, "/inspect/?seq=3&token="+token)
	if w.Code != http.StatusSeeOther || strings.Contains(w.Header().Get("Location"), "token") || w.Header().Get("Location") != "/inspect/?seq=3" {
		t.Fatalf("?token=: %d to %q, want a redirect to the URL without it", w.Code, w.Header().Get("Location"))
	}
	cookie := w.Result().Cookies()
	if len(cookie) != 1 || !cookie[0].HttpOnly {
		t.Fatalf("?token= set cookies %v, want one HttpOnly cookie", cookie)
	}
	if w := serve(remote, http.Header{"Cookie": {cookie[0].String()}}, "/inspect/api/actions"); w.Code != http.StatusOK {
		t.Fatalf("with the cookie: %d, want 200", w.Code)
	}
	if w := serve(remote, nil, "/inspect/?token=wrong"); w.Code != http.StatusUnauthorized {
		t.Fatalf("?token=wrong: %d, want 401", w.Code)
	}
}
