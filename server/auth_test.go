package server_test

// End-to-end tests of Config.Auth: a real server on a loopback port, real
// WebSocket clients, tokens minted the way an identity service would.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
)

const authTestSecret = "e2e-secret-of-at-least-32-bytes-length"

// authConfig is a server configuration that requires tokens signed with
// authTestSecret.
func authConfig(grace time.Duration) server.Config {
	return server.Config{Auth: middleware.AuthOptions{Secret: []byte(authTestSecret)}, Grace: grace}
}

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
func authJoin(t *testing.T, s *chattest.Server, token string) (*chattest.Client, chattest.Event) {
	t.Helper()
	c := s.Dial(t, "/chat")
	c.Send(chattest.Connecting(map[string]any{"id": "client-chosen", "username": "mallory", "token": token}))
	return c, c.Expect("connected")
}

// expectIdentity fails unless e names id and username as both username
// and name.
func expectIdentity(t *testing.T, e chattest.Event, id, username string) {
	t.Helper()
	if e.Str("id") != id || e.Str("username") != username || e.Str("name") != username {
		t.Fatalf("%s = %v, want id %q, username and name %q (from the token)", e.Name(), e, id, username)
	}
}

// TestAuthTokenGivesIdentity: the id and name come from the token, never
// from the client's fields, and an authenticated user chats as usual.
func TestAuthTokenGivesIdentity(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, authConfig(100*time.Millisecond))
	ann, hello := authJoin(t, s, mint(authTestSecret, "u-ann", "Ann", nil))
	expectIdentity(t, hello, "u-ann", "Ann")
	bob, hello := authJoin(t, s, mint(authTestSecret, "u-bob", "Bob", nil))
	expectIdentity(t, hello, "u-bob", "Bob")
	wantUsers(t, hello, map[string]string{"u-ann": "Ann", "u-bob": "Bob"})
	expectPresence(t, ann, "joined", "u-bob", "Bob")

	bob.Say("hi from bob")
	for _, c := range []*chattest.Client{ann, bob} {
		msgs := expectWritten(t, c)
		if m := msgs[len(msgs)-1]; m.Username != "Bob" || m.UserID != "u-bob" || m.Message != "hi from bob" {
			t.Fatalf("newest message = %+v, want u-bob/Bob: hi from bob", m)
		}
	}
	leave(bob)
	expectPresence(t, ann, "disconnected", "u-bob", "Bob")
}

// TestAuthSecondTabKeepsID: a signed token proves its sub, so a second tab
// (or a reload) of a present user with a token of its own gets that same
// id, announced by no second joined, whatever tokens the first one holds.
func TestAuthSecondTabKeepsID(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, authConfig(100*time.Millisecond))
	ann, _ := authJoin(t, s, mint(authTestSecret, "u-ann", "Ann", nil))
	bob, _ := authJoin(t, s, mint(authTestSecret, "u-bob", "Bob", nil))
	expectPresence(t, ann, "joined", "u-bob", "Bob")
	tab, hello := authJoin(t, s, mint(authTestSecret, "u-bob", "Bob", jwt.MapClaims{"iat": time.Now().Add(-time.Second).Unix()}))
	expectIdentity(t, hello, "u-bob", "Bob")
	tab.Say("from the second tab")
	for _, c := range []*chattest.Client{ann, bob, tab} {
		expectMessage(t, c, "Bob", "from the second tab")
	}
	leave(bob)
	leave(tab)
	expectPresence(t, ann, "disconnected", "u-bob", "Bob")
}

// TestAuthRefusesBadTokens: each bad token gets its error, with ref
// connecting, and a 1008 close; the users already there see nothing of it
// and keep chatting.
func TestAuthRefusesBadTokens(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, authConfig(0))
	ann, _ := authJoin(t, s, mint(authTestSecret, "u-ann", "Ann", nil))
	bob, _ := authJoin(t, s, mint(authTestSecret, "u-bob", "Bob", nil))
	expectPresence(t, ann, "joined", "u-bob", "Bob")
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
			eve := s.Dial(t, "/chat")
			frame := chattest.Connecting(map[string]any{"id": "u-ann", "username": "Ann"})
			if tc.token != "" {
				frame["token"] = tc.token
			}
			eve.Send(frame)
			e := expectError(t, eve, tc.code, "connecting")
			if tc.token != "" && strings.Contains(e.Str("message"), tc.token) {
				t.Fatalf("the error echoes the token: %v", e)
			}
			eve.ExpectClose(websocket.StatusPolicyViolation)
			// The next frames ann and bob get are their own messages: no
			// joined (nor disconnected) for the refused socket.
			ann.Say("still here after " + tc.name)
			for _, c := range []*chattest.Client{ann, bob} {
				expectMessage(t, c, "Ann", "still here after "+tc.name)
			}
		})
	}
}

// TestAuthIssuerAndAudience: configured, they must match.
func TestAuthIssuerAndAudience(t *testing.T) {
	t.Parallel()
	cfg := authConfig(0)
	cfg.Auth.Issuer, cfg.Auth.Audience = "https://id.example", "chat"
	s := chattest.Start(t, cfg)
	good := jwt.MapClaims{"iss": "https://id.example", "aud": "chat"}
	_, hello := authJoin(t, s, mint(authTestSecret, "u-ann", "Ann", good))
	expectIdentity(t, hello, "u-ann", "Ann")
	for _, extra := range []jwt.MapClaims{{"aud": "chat"}, {"iss": "https://id.example", "aud": "other"}, {"iss": "https://evil.example", "aud": "chat"}} {
		c := s.Dial(t, "/chat")
		c.Send(chattest.Connecting(map[string]any{"username": "x", "token": mint(authTestSecret, "u-eve", "Eve", extra)}))
		expectError(t, c, "token_invalid", "connecting")
		c.ExpectClose(websocket.StatusPolicyViolation)
	}
}

// TestAuthShortSecretFailsNew: New refuses a secret shorter than 32 bytes,
// without echoing it, before it opens anything.
func TestAuthShortSecretFailsNew(t *testing.T) {
	t.Parallel()
	short := "31-bytes-is-one-byte-too-short!"
	srv, err := server.New(context.Background(), server.Config{Auth: middleware.AuthOptions{Secret: []byte(short)}, Data: t.TempDir()})
	if err == nil {
		srv.Shutdown(context.Background())
		t.Fatal("New accepted a 31-byte secret")
	}
	if !strings.Contains(err.Error(), "at least 32 bytes") || strings.Contains(err.Error(), short) {
		t.Fatalf("New: %v, want an error about 32 bytes that does not echo the secret", err)
	}
}
