package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/store"
)

// MinAuthSecret is the shortest HMAC secret Auth accepts, in bytes.
const MinAuthSecret = 32

// DefaultAuthLeeway is the clock skew Auth allows on exp, nbf and iat.
const DefaultAuthLeeway = 30 * time.Second

// AuthOptions configure Auth. Only Secret is required.
type AuthOptions struct {
	// Secret is the HMAC key that signs the tokens: at least MinAuthSecret
	// bytes. Auth keeps its own copy.
	Secret []byte
	// Issuer, when set, must equal the token's iss. Defaults to no check.
	Issuer string
	// Audience, when set, must be one of the token's aud. Defaults to no check.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. Defaults to
	// DefaultAuthLeeway; negative is invalid.
	Leeway time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// authClaims are the claims of a statecast token: sub is the user id,
// name the username, exp is required.
type authClaims struct {
	Name string `json:"name"`
	jwt.RegisteredClaims
}

// Validate is called by the jwt parser once the signature is verified.
func (c authClaims) Validate() error {
	if c.Subject == "" || c.Name == "" {
		return fmt.Errorf("%w: sub and name", jwt.ErrTokenRequiredClaimMissing)
	}
	return nil
}

// Auth makes user ids come from signed tokens instead of clients. Every
// `connecting` of a socket (a TypeConnect action whose context carries an
// actions.Source) must carry a JWT signed with HMAC (HS256, HS384 or HS512)
// under opts.Secret, with sub, name and exp; its nbf and iat, and its iss
// and aud when configured, are checked too. Auth then replaces the
// action's User with sub and its username with name: the id and username
// the client sent are ignored. A refusal is token_missing, token_invalid or
// token_expired, with ref "connecting", and closes the socket with 1008.
//
// It does not check other actions: a socket's later actions act as the
// user its `connecting` established. Actions without a Source (server code,
// bots) pass untouched. Tokens are never logged nor put in error messages;
// Auth issues no tokens and keeps no revocation list.
//
// It returns an error for a secret shorter than MinAuthSecret or a
// negative leeway. Put it after Logger (and any rate limit), before
// Validate, which then checks the lengths of the ids and names it set.
func Auth(opts AuthOptions) (store.Middleware, error) {
	if len(opts.Secret) < MinAuthSecret {
		return nil, fmt.Errorf("auth: the secret must be at least %d bytes, got %d", MinAuthSecret, len(opts.Secret))
	}
	if opts.Leeway < 0 {
		return nil, fmt.Errorf("auth: negative leeway %v", opts.Leeway)
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultAuthLeeway
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	secret := append([]byte(nil), opts.Secret...)
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256", "HS384", "HS512"}),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway), jwt.WithTimeFunc(opts.Now),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	parser := jwt.NewParser(popts...)
	key := func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, errors.New("not an HMAC algorithm")
		}
		return secret, nil
	}
	return func(next store.Dispatch) store.Dispatch {
		return func(ctx context.Context, a *actions.Action) error {
			src, ok := actions.SourceFrom(ctx)
			if !ok || a.Type != actions.TypeConnect {
				return next(ctx, a)
			}
			if src.Token == "" {
				return authError(actions.CodeTokenMissing, "connecting needs a token")
			}
			var c authClaims
			if _, err := parser.ParseWithClaims(src.Token, &c, key); err != nil {
				if expiredOnly(err) {
					return authError(actions.CodeTokenExpired, "the token has expired")
				}
				return authError(actions.CodeTokenInvalid, "the token is not valid")
			}
			p, _ := a.Payload.(actions.Connect)
			p.Username, p.Verified = c.Name, true
			a.User, a.Payload = c.Subject, p
			return next(ctx, a)
		}
	}, nil
}

// expiredOnly reports whether err says that the token expired and that
// nothing else is wrong with it: a token that would be refused anyway is
// invalid, not expired, so that a client does not renew it in vain.
func expiredOnly(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidAudience, jwt.ErrInvalidType,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

func authError(code, msg string) *actions.Error {
	return &actions.Error{Code: code, Message: msg, Ref: actions.EventConnecting, Close: actions.ClosePolicy}
}
