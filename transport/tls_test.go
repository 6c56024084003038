package transport_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
	"github.com/statecast/statecast/transport"
)

// startTLS starts a server with a certificate from ca, whose files are in
// dir as "server.crt" and "server.key".
func startTLS(t *testing.T, ca *testCA, dir string) (*chattest.Server, leafFiles) {
	t.Helper()
	f := ca.issue(t, dir, "server")
	return chattest.Start(t, server.Config{Transport: transport.Config{TLSCert: f.cert, TLSKey: f.key}}), f
}

// TestTLSChat: with a certificate, the server speaks HTTPS and wss only,
// with TLS 1.2 and up: users chat over wss, the page is served over HTTPS,
// and neither plain ws nor TLS 1.1 gets in.
func TestTLSChat(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	s, _ := startTLS(t, ca, t.TempDir())
	wss := "wss://" + s.Addr().String() + "/chat/tls_chat"

	dial := func(id, name string) *chattest.Client {
		c, _, err := chattest.DialURL(t, wss, chattest.WithHTTPClient(ca.client()))
		if err != nil {
			t.Fatalf("dialing %s: %v", wss, err)
		}
		c.Send(map[string]any{"event": "connecting", "id": id, "username": name})
		c.Expect("connected")
		return c
	}
	ann, bob := dial("ann-id", "ann"), dial("bob-id", "bob")
	ann.Await(func(e chattest.Event) bool { return e.Str("event") == "joined" })
	bob.Say("hello over wss")
	if got := ann.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" }); !strings.Contains(got.String(), "hello over wss") {
		t.Fatalf("ann got %v, want bob's message", got)
	}

	resp, err := ca.client().Get("https://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" {
		t.Fatalf("GET / over HTTPS: %s, TLS %v; want 200 over TLS, HTTP/1.1", resp.Status, resp.TLS != nil)
	}
	if _, _, err := chattest.DialURL(t, s.URL("/chat")); err == nil {
		t.Fatal("plain ws:// to the TLS port was accepted")
	}
	old := ca.tlsConfig()
	old.MaxVersion = tls.VersionTLS11
	if c, err := tls.Dial("tcp", s.Addr().String(), old); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded; want TLS 1.2 and up only")
	}
}

// TestTLSCertificateRotation: once the files are replaced (as certbot does,
// by renaming new files into place), the next handshake gets the new
// certificate while sockets already open stay and still chat. A pair that
// does not load in the meantime is logged and the last good one served.
func TestTLSCertificateRotation(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	s, first := startTLS(t, ca, dir)
	addr := s.Addr().String()
	if got := ca.serverCert(t, addr); !got.Equal(first.leaf) {
		t.Fatalf("served %v, want the first certificate", got.SerialNumber)
	}
	ann, _, err := chattest.DialURL(t, "wss://"+addr+"/chat/rotation", chattest.WithHTTPClient(ca.client()))
	if err != nil {
		t.Fatal(err)
	}
	ann.Send(map[string]any{"event": "connecting", "id": "ann-id", "username": "ann"})
	ann.Expect("connected")

	// A broken certificate file: the first one is still served.
	replace(t, first.cert, []byte("not a certificate"))
	time.Sleep(1200 * time.Millisecond) // past the loader's one look per second
	if got := ca.serverCert(t, addr); !got.Equal(first.leaf) {
		t.Fatalf("after a broken file, served %v, want the last good certificate", got.SerialNumber)
	}

	next := ca.issue(t, t.TempDir(), "renewed")
	for _, f := range [][2]string{{next.key, first.key}, {next.cert, first.cert}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		replace(t, f[1], b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !ca.serverCert(t, addr).Equal(next.leaf) {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served 5s after its files were replaced")
		}
		time.Sleep(100 * time.Millisecond)
	}

	bob, _, err := chattest.DialURL(t, "wss://"+addr+"/chat/rotation", chattest.WithHTTPClient(ca.client()))
	if err != nil {
		t.Fatalf("a socket after the renewal: %v", err)
	}
	bob.Send(map[string]any{"event": "connecting", "id": "bob-id", "username": "bob"})
	bob.Expect("connected")
	ann.Say("still here")
	got := bob.Await(func(e chattest.Event) bool { return e.Str("event") == "messageWritten" })
	if !strings.Contains(got.String(), "still here") {
		t.Fatalf("bob got %v, want the message ann sent on her socket from before the renewal", got)
	}
}

// replace puts b in place of path by renaming a new file over it.
func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".new-"+filepath.Base(path))
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestTLSRedirect: -http-redirect answers plain HTTP with a permanent
// redirect to the same URL over HTTPS on the server's port.
func TestTLSRedirect(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	f := ca.issue(t, t.TempDir(), "server")
	st := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	defer st.Close()
	srv, err := transport.NewServer(transport.Config{Addr: "127.0.0.1:0", TLSCert: f.cert, TLSKey: f.key,
		HTTPRedirect: "127.0.0.1:0"}, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	_, port, _ := net.SplitHostPort(srv.Addr().String())
	_, rport, _ := net.SplitHostPort(srv.RedirectAddr().String())
	req, _ := http.NewRequest(http.MethodGet, "http://localhost:"+rport+"/healthz?x=1", nil)
	resp, err := ca.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://localhost:" + port + "/healthz?x=1"
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %s to %q, want 308 to %q", resp.Status, resp.Header.Get("Location"), want)
	}
	resp, err = ca.client().Get(want)
	if err != nil {
		t.Fatalf("following the redirect: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, want 200", want, resp.Status)
	}
}

// TestTLSConfigRefused: a server does not start without a certificate it
// can load, nor with half of the TLS settings.
func TestTLSConfigRefused(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	f := ca.issue(t, dir, "server")
	other := ca.issue(t, dir, "other")
	st := store.New(chat.State{}, chat.NewReducer(chat.Options{}))
	defer st.Close()
	for _, tc := range []struct {
		name string
		cfg  transport.Config
		want string
	}{
		{"no key", transport.Config{TLSCert: f.cert}, "both"},
		{"no certificate", transport.Config{TLSKey: f.key}, "both"},
		{"redirect without TLS", transport.Config{HTTPRedirect: ":0"}, "redirect"},
		{"missing file", transport.Config{TLSCert: filepath.Join(dir, "nope.crt"), TLSKey: f.key}, "nope.crt"},
		{"key of another certificate", transport.Config{TLSCert: f.cert, TLSKey: other.key}, "does not match"},
	} {
		if _, err := transport.NewServer(tc.cfg, st, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewServer: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}
