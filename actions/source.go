package actions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Source describes the socket an action came from. The transport puts it
// in the context of every dispatch it makes; actions dispatched by server
// code (timers, bots) have none. It never enters the log: middleware uses it
// to decide (rate limits per address, authentication), and records in the
// action whatever the state must know.
type Source struct {
	// Remote is the client's IP address, without the port.
	Remote string
	// Session is the socket's id, as in Action.Session.
	Session string
	// Token is the token the client sent with `connecting`, if any.
	Token string
}

type sourceKey struct{}

// WithSource returns a context that carries src.
func WithSource(ctx context.Context, src Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

// SourceFrom returns the Source in ctx, if there is one.
func SourceFrom(ctx context.Context) (Source, bool) {
	src, ok := ctx.Value(sourceKey{}).(Source)
	return src, ok
}

// NewToken returns a fresh random token for a socket to resume with.
func NewToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the hash of a token as the state keeps it; "" for no
// token.
func HashToken(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
