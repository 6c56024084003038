package middleware_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/middleware"
)

var (
	authSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	authNow    = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
)

// claims returns valid claims for user u1 named ann, changed by edits.
func claims(edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "u1", "name": "ann", "exp": authNow.Add(time.Hour).Unix(), "iat": authNow.Add(-time.Minute).Unix()}
	for _, e := range edits {
		e(c)
	}
	return c
}

func set(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
func unset(k string) func(jwt.MapClaims)      { return func(c jwt.MapClaims) { delete(c, k) } }

// sign signs c with method and key.
func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hmacUnder builds a token whose header names alg but whose signature is
// an HS256 MAC under the secret: the algorithm-confusion trick.
func hmacUnder(t *testing.T, alg string, c jwt.MapClaims) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(map[string]string{"alg": alg, "typ": "JWT"}) + "." + enc(c)
	sig, err := jwt.SigningMethodHS256.Sign(unsigned, authSecret)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	hs256 := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, authSecret, c) }
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	checked := middleware.AuthOptions{Secret: authSecret, Issuer: "https://id.example", Audience: "statecast"}
	tests := []struct {
		name  string
		opts  middleware.AuthOptions // zero: Secret only
		token string
		code  string // "" means accepted as u1/ann
	}{
		{"valid HS256", middleware.AuthOptions{}, hs256(claims()), ""},
		{"valid HS384", middleware.AuthOptions{}, sign(t, jwt.SigningMethodHS384, authSecret, claims()), ""},
		{"valid HS512", middleware.AuthOptions{}, sign(t, jwt.SigningMethodHS512, authSecret, claims()), ""},
		{"missing", middleware.AuthOptions{}, "", actions.CodeTokenMissing},
		{"garbage", middleware.AuthOptions{}, "not.a.token", actions.CodeTokenInvalid},
		{"forged: wrong secret", middleware.AuthOptions{}, sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims()), actions.CodeTokenInvalid},
		{"tampered claims", middleware.AuthOptions{}, retarget(hs256(claims()), hs256(claims(set("sub", "admin")))), actions.CodeTokenInvalid},
		{"alg none", middleware.AuthOptions{}, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims()), actions.CodeTokenInvalid},
		{"RS256 header, HMAC signature", middleware.AuthOptions{}, hmacUnder(t, "RS256", claims()), actions.CodeTokenInvalid},
		{"ES256 header, HMAC signature", middleware.AuthOptions{}, hmacUnder(t, "ES256", claims()), actions.CodeTokenInvalid},
		{"ES256 signed", middleware.AuthOptions{}, sign(t, jwt.SigningMethodES256, ecKey, claims()), actions.CodeTokenInvalid},
		{"expired", middleware.AuthOptions{}, hs256(claims(set("exp", authNow.Add(-time.Hour).Unix()))), actions.CodeTokenExpired},
		{"expired within the leeway", middleware.AuthOptions{}, hs256(claims(set("exp", authNow.Add(-10*time.Second).Unix()))), ""},
		{"expired, no leeway left", middleware.AuthOptions{Leeway: time.Second}, hs256(claims(set("exp", authNow.Add(-10*time.Second).Unix()))), actions.CodeTokenExpired},
		{"expired and nameless", middleware.AuthOptions{}, hs256(claims(set("exp", authNow.Add(-time.Hour).Unix()), unset("name"))), actions.CodeTokenInvalid},
		{"expired and forged", middleware.AuthOptions{}, sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims(set("exp", authNow.Add(-time.Hour).Unix()))), actions.CodeTokenInvalid},
		{"not yet valid", middleware.AuthOptions{}, hs256(claims(set("nbf", authNow.Add(time.Hour).Unix()))), actions.CodeTokenInvalid},
		{"nbf passed", middleware.AuthOptions{}, hs256(claims(set("nbf", authNow.Add(-time.Hour).Unix()))), ""},
		{"issued in the future", middleware.AuthOptions{}, hs256(claims(set("iat", authNow.Add(time.Hour).Unix()))), actions.CodeTokenInvalid},
		{"no iat", middleware.AuthOptions{}, hs256(claims(unset("iat"))), ""},
		{"missing sub", middleware.AuthOptions{}, hs256(claims(unset("sub"))), actions.CodeTokenInvalid},
		{"empty sub", middleware.AuthOptions{}, hs256(claims(set("sub", ""))), actions.CodeTokenInvalid},
		{"missing name", middleware.AuthOptions{}, hs256(claims(unset("name"))), actions.CodeTokenInvalid},
		{"name not a string", middleware.AuthOptions{}, hs256(claims(set("name", 7))), actions.CodeTokenInvalid},
		{"missing exp", middleware.AuthOptions{}, hs256(claims(unset("exp"))), actions.CodeTokenInvalid},
		{"iss and aud match", checked, hs256(claims(set("iss", "https://id.example"), set("aud", []string{"other", "statecast"}))), ""},
		{"iss mismatch", checked, hs256(claims(set("iss", "https://evil.example"), set("aud", "statecast"))), actions.CodeTokenInvalid},
		{"iss missing", checked, hs256(claims(set("aud", "statecast"))), actions.CodeTokenInvalid},
		{"aud mismatch", checked, hs256(claims(set("iss", "https://id.example"), set("aud", "other"))), actions.CodeTokenInvalid},
		{"aud missing", checked, hs256(claims(set("iss", "https://id.example"))), actions.CodeTokenInvalid},
		{"iss and aud unchecked by default", middleware.AuthOptions{}, hs256(claims(set("iss", "anyone"), set("aud", "anything"))), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			opts.Secret, opts.Now = authSecret, func() time.Time { return authNow }
			mw, err := middleware.Auth(opts)
			if err != nil {
				t.Fatal(err)
			}
			a := &actions.Action{Type: actions.TypeConnect, Room: "r", Session: "s1", User: "claimed", Payload: actions.Connect{Username: "mallory"}}
			ctx := actions.WithSource(context.Background(), actions.Source{Remote: "127.0.0.1", Session: "s1", Token: tt.token})
			term := &terminal{}
			err = mw(term.dispatch)(ctx, a)
			if got := errCode(err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if tt.code != "" {
				e := actions.AsError(err)
				if e.Ref != "connecting" || e.Close != actions.ClosePolicy {
					t.Fatalf("error %+v: want ref connecting and close 1008", e)
				}
				if tt.token != "" && strings.Contains(e.Error(), tt.token) {
					t.Fatalf("the error message holds the token: %v", e)
				}
				if len(term.got) != 0 {
					t.Fatal("a refused action reached the reducer")
				}
				return
			}
			if len(term.got) != 1 {
				t.Fatal("the action did not reach the reducer")
			}
			if a.User != "u1" || a.Payload != (actions.Connect{Username: "ann", Verified: true}) {
				t.Fatalf("user %q, payload %+v: want u1 and ann from the claims, verified", a.User, a.Payload)
			}
		})
	}
}

// retarget keeps header and claims of b but the signature of a.
func retarget(a, b string) string {
	return b[:strings.LastIndexByte(b, '.')] + a[strings.LastIndexByte(a, '.'):]
}

// TestAuthPassesOthers: actions without a source, and actions other than
// connecting, are not Auth's business.
func TestAuthPassesOthers(t *testing.T) {
	t.Parallel()
	mw, err := middleware.Auth(middleware.AuthOptions{Secret: authSecret})
	if err != nil {
		t.Fatal(err)
	}
	socket := actions.WithSource(context.Background(), actions.Source{Session: "s1"})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		a    actions.Action
	}{
		{"server-side connect", context.Background(), actions.Action{Type: actions.TypeConnect, Room: "r", User: "bot", Payload: actions.Connect{Username: "Bot"}}},
		{"server-side post", context.Background(), actions.Action{Type: actions.TypePostMessage, Room: "r", User: "bot", Payload: actions.PostMessage{Username: "Bot", Message: "hi"}}},
		{"socket write", socket, actions.Action{Type: actions.TypeWriteMessage, Room: "r", Session: "s1", User: "u1", Payload: actions.WriteMessage{Message: "hi"}}},
		{"socket open", socket, actions.Action{Type: actions.TypeOpenSession, Room: "r", Session: "s1"}},
		{"socket close", socket, actions.Action{Type: actions.TypeCloseSession, Room: "r", Session: "s1", User: "u1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := tc.a
			term := &terminal{}
			if err := mw(term.dispatch)(tc.ctx, &a); err != nil {
				t.Fatal(err)
			}
			if len(term.got) != 1 || a != tc.a {
				t.Fatalf("got %+v through %d times, want %+v untouched", a, len(term.got), tc.a)
			}
		})
	}
}

func TestAuthConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts middleware.AuthOptions
		ok   bool
	}{
		{"no secret", middleware.AuthOptions{}, false},
		{"31 bytes", middleware.AuthOptions{Secret: authSecret[:31]}, false},
		{"32 bytes", middleware.AuthOptions{Secret: authSecret}, true},
		{"negative leeway", middleware.AuthOptions{Secret: authSecret, Leeway: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mw, err := middleware.Auth(tc.opts)
			if (err == nil) != tc.ok || (mw != nil) != tc.ok {
				t.Fatalf("Auth: middleware %v, error %v; want ok %v", mw != nil, err, tc.ok)
			}
		})
	}
}

// TestAuthCopiesSecret: changing the caller's slice later changes nothing.
func TestAuthCopiesSecret(t *testing.T) {
	t.Parallel()
	secret := append([]byte(nil), authSecret...)
	mw, err := middleware.Auth(middleware.AuthOptions{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	copy(secret, strings.Repeat("z", len(secret)))
	token := sign(t, jwt.SigningMethodHS256, authSecret, jwt.MapClaims{"sub": "u1", "name": "ann", "exp": time.Now().Add(time.Hour).Unix()})
	ctx := actions.WithSource(context.Background(), actions.Source{Token: token})
	a := &actions.Action{Type: actions.TypeConnect, Room: "r", User: "x", Payload: actions.Connect{Username: "x"}}
	if err := mw((&terminal{}).dispatch)(ctx, a); err != nil || a.User != "u1" {
		t.Fatalf("err %v, user %q: want the token accepted under the original secret", err, a.User)
	}
}
