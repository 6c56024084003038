package main

// End-to-end tests of -auth-secret: a real server on a loopback port,
// real WebSocket clients, tokens minted the way an identity service would.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

const authTestSecret = "e2e-secret-of-at-least-32-bytes-length"

// mint returns an HS256 token for sub and name, valid for an hour, with
// extra claims on top.
func mint(secret, sub, name string, extra jwt.MapClaims) string {
	c := jwt.MapClaims{"sub": sub, "name": name, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		panic(err)
	}
	return s
}

// authJoin dials the room and sends connecting with a made-up id and
// username plus token, and returns the client with the `connected` reply.
func (s *testServer) authJoin(token string) (*client, event) {
	s.t.Helper()
	c := s.dial("/chat")
	c.send(connecting(map[string]any{"id": "client-chosen", "username": "mallory", "token": token}))
	return c, c.expect("connected")
}

// expectIdentity fails unless e names id and username as both username
// and name.
func expectIdentity(t *testing.T, e event, id, username string) {
	t.Helper()
	if e.str("id") != id || e.str("username") != username || e.str("name") != username {
		t.Fatalf("%s = %v, want id %q, username and name %q (from the token)", e.str("event"), e, id, username)
	}
}

// TestAuthTokenGivesIdentity: the id and name come from the token, never
// from the client's fields, and an authenticated user chats as usual.
func TestAuthTokenGivesIdentity(t *testing.T) {
	s := startServer(t, "-auth-secret", authTestSecret, "-grace", "100ms")
	ann, hello := s.authJoin(mint(authTestSecret, "u-ann", "Ann", nil))
	expectIdentity(t, hello, "u-ann", "Ann")
	bob, hello := s.authJoin(mint(authTestSecret, "u-bob", "Bob", nil))
	expectIdentity(t, hello, "u-bob", "Bob")
	users := map[string]string{}
	for _, u := range hello.list("connectedUserList") {
		m, _ := u.(map[string]any)
		id, _ := m["id"].(string)
		users[id], _ = m["username"].(string)
	}
	if len(users) != 2 || users["u-ann"] != "Ann" || users["u-bob"] != "Bob" {
		t.Fatalf("connectedUserList = %v, want u-ann/Ann and u-bob/Bob", hello.list("connectedUserList"))
	}
	ann.expectPresence("joined", "u-bob", "Bob")

	bob.write("hi from bob")
	for _, c := range []*client{ann, bob} {
		msgs := c.expectWritten()
		if m := msgs[len(msgs)-1]; m.Username != "Bob" || m.UserID != "u-bob" || m.Message != "hi from bob" {
			t.Fatalf("newest message = %+v, want u-bob/Bob: hi from bob", m)
		}
	}
	bob.leave()
	ann.expectPresence("disconnected", "u-bob", "Bob")
}

// TestAuthSecondTabKeepsID: a signed token proves its sub, so a second tab
// (or a reload) of a present user with a token of its own gets that same
// id, announced by no second joined, whatever tokens the first one holds.
func TestAuthSecondTabKeepsID(t *testing.T) {
	s := startServer(t, "-auth-secret", authTestSecret, "-grace", "100ms")
	ann, _ := s.authJoin(mint(authTestSecret, "u-ann", "Ann", nil))
	bob, _ := s.authJoin(mint(authTestSecret, "u-bob", "Bob", nil))
	ann.expectPresence("joined", "u-bob", "Bob")
	tab, hello := s.authJoin(mint(authTestSecret, "u-bob", "Bob", jwt.MapClaims{"iat": time.Now().Add(-time.Second).Unix()}))
	expectIdentity(t, hello, "u-bob", "Bob")
	tab.write("from the second tab")
	for _, c := range []*client{ann, bob, tab} {
		c.epExpectMessage("Bob", "from the second tab")
	}
	bob.leave()
	tab.leave()
	ann.expectPresence("disconnected", "u-bob", "Bob")
}

// TestAuthRefusesBadTokens: each bad token gets its error, with ref
// connecting, and a 1008 close; the users already there see nothing of it
// and keep chatting.
func TestAuthRefusesBadTokens(t *testing.T) {
	s := startServer(t, "-auth-secret", authTestSecret)
	ann, _ := s.authJoin(mint(authTestSecret, "u-ann", "Ann", nil))
	bob, _ := s.authJoin(mint(authTestSecret, "u-bob", "Bob", nil))
	ann.expectPresence("joined", "u-bob", "Bob")
	past := time.Now().Add(-time.Hour)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u-eve", "name": "Eve", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, code string
	}{
		{"expired", mint(authTestSecret, "u-eve", "Eve", jwt.MapClaims{"iat": past.Add(-time.Hour).Unix(), "exp": past.Unix()}), "token_expired"},
		{"forged", mint(strings.Repeat("w", 32), "u-ann", "Ann", nil), "token_invalid"},
		{"alg none", none, "token_invalid"},
		{"no name", mint(authTestSecret, "u-eve", "", nil), "token_invalid"},
		{"missing", "", "token_missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eve := s.dial("/chat")
			frame := connecting(map[string]any{"id": "u-ann", "username": "Ann"})
			if tc.token != "" {
				frame["token"] = tc.token
			}
			eve.send(frame)
			e := eve.expectError(tc.code, "connecting")
			if tc.token != "" && strings.Contains(e.str("message"), tc.token) {
				t.Fatalf("the error echoes the token: %v", e)
			}
			eve.epExpectClose(websocket.StatusPolicyViolation)
			// The next frames ann and bob get are their own messages: no
			// joined (nor disconnected) for the refused socket.
			ann.write("still here after " + tc.name)
			for _, c := range []*client{ann, bob} {
				c.epExpectMessage("Ann", "still here after "+tc.name)
			}
		})
	}
}

// TestAuthIssuerAndAudience: configured, they must match.
func TestAuthIssuerAndAudience(t *testing.T) {
	s := startServer(t, "-auth-secret", authTestSecret, "-auth-issuer", "https://id.example", "-auth-audience", "chat")
	good := jwt.MapClaims{"iss": "https://id.example", "aud": "chat"}
	_, hello := s.authJoin(mint(authTestSecret, "u-ann", "Ann", good))
	expectIdentity(t, hello, "u-ann", "Ann")
	for _, extra := range []jwt.MapClaims{{"aud": "chat"}, {"iss": "https://id.example", "aud": "other"}, {"iss": "https://evil.example", "aud": "chat"}} {
		c := s.dial("/chat")
		c.send(connecting(map[string]any{"username": "x", "token": mint(authTestSecret, "u-eve", "Eve", extra)}))
		c.expectError("token_invalid", "connecting")
		c.epExpectClose(websocket.StatusPolicyViolation)
	}
}

// TestAuthSecretFile: the secret may come from a file; its trailing newline
// is not part of it.
func TestAuthSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(authTestSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-auth-secret-file", path)
	_, hello := s.authJoin(mint(authTestSecret, "u-ann", "Ann", nil))
	expectIdentity(t, hello, "u-ann", "Ann")
}

// TestAuthSecretFromEnv: STATECAST_AUTH_SECRET sets it; the flag wins.
func TestAuthSecretFromEnv(t *testing.T) {
	c, err := parseServe(nil, []string{"STATECAST_AUTH_SECRET=" + authTestSecret})
	if err != nil || string(c.auth.Secret) != authTestSecret {
		t.Fatalf("secret %q, err %v: want it from the environment", c.auth.Secret, err)
	}
	c, err = parseServe([]string{"-auth-secret", authTestSecret + "!"}, []string{"STATECAST_AUTH_SECRET=" + authTestSecret})
	if err != nil || string(c.auth.Secret) != authTestSecret+"!" {
		t.Fatalf("secret %q, err %v: want the flag's", c.auth.Secret, err)
	}
	if c, err = parseServe(nil, nil); err != nil || len(c.auth.Secret) != 0 {
		t.Fatalf("secret %q, err %v: want none by default", c.auth.Secret, err)
	}
}

// TestAuthBadConfigFailsAtStart: serve refuses to start, and says why
// without echoing the secret.
func TestAuthBadConfigFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := "31-bytes-is-one-byte-too-short!"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"short secret", []string{"-auth-secret", short}, "at least 32 bytes"},
		{"both secrets", []string{"-auth-secret", authTestSecret, "-auth-secret-file", empty}, "exclude each other"},
		{"empty file", []string{"-auth-secret-file", empty}, "is empty"},
		{"missing file", []string{"-auth-secret-file", filepath.Join(dir, "nope")}, "-auth-secret-file"},
		{"issuer without secret", []string{"-auth-issuer", "x"}, "need -auth-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "error", "-data", t.TempDir()}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := serve(ctx, args, nil, func(net.Addr) { t.Error("the server started") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: %v, want an error about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), short) {
				t.Fatalf("the error echoes the secret: %v", err)
			}
		})
	}
}
