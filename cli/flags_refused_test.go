package cli

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesBadValues: serve refuses to start on a value that cannot
// work, says which flag (or variable) is wrong, and never echoes a secret.
func TestServeRefusesBadValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := "31-bytes-is-one-byte-too-short!"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"negative rate", []string{"-rate", "-1"}, nil, "-rate and -rate-per-address"},
		{"NaN rate", []string{"-rate", "NaN"}, nil, "-rate and -rate-per-address"},
		{"negative address rate", []string{"-rate-per-address", "-0.5"}, nil, "-rate and -rate-per-address"},
		{"no burst", []string{"-rate-burst", "0"}, nil, "-rate-burst must be at least 1"},
		{"negative address burst", []string{"-rate-address-burst", "-1"}, nil, "-rate-address-burst"},
		{"no conns", []string{"-max-conns", "0"}, nil, "-max-conns"},
		{"no conns per address", []string{"-max-conns-per-address", "0"}, nil, "-max-conns-per-address"},
		{"no handshakes", []string{"-handshake-rate", "0"}, nil, "-handshake-rate"},
		{"NaN handshakes", []string{"-handshake-rate", "NaN"}, nil, "-handshake-rate"},
		{"no handshake burst", []string{"-handshake-burst", "0"}, nil, "-handshake-burst"},
		{"no handshake wait", []string{"-handshake-wait", "0s"}, nil, "-handshake-wait"},
		{"a proxy that is no network", []string{"-trusted-proxies", "proxy.local"}, nil, "-trusted-proxies"},
		{"certificate without key", []string{"-tls-cert", "server.crt"}, nil, "-tls-cert and -tls-key"},
		{"key without certificate", nil, []string{"STATECAST_TLS_KEY=server.key"}, "-tls-cert and -tls-key"},
		{"redirect without TLS", []string{"-http-redirect", ":80"}, nil, "-http-redirect needs"},
		{"missing certificate", []string{"-tls-cert", filepath.Join(dir, "nope.crt"), "-tls-key", filepath.Join(dir, "nope.key")}, nil, "nope.crt"},
		{"tiny v1 frames", []string{"-v1-frame-bytes", "100"}, nil, "-v1-frame-bytes"},
		{"no snapshots", []string{"-snapshot-every", "0"}, nil, "-snapshot-every"},
		{"empty messages", []string{"-max-message", "0"}, nil, "-max-message"},
		{"no history", []string{"-history", "0"}, nil, "-history"},
		{"no grace", []string{"-grace", "0s"}, nil, "-grace"},
		{"tiny frames", []string{"-frame-limit", "63"}, nil, "-frame-limit"},
		{"no queue", []string{"-send-queue", "0"}, nil, "-send-queue"},
		{"no rooms", []string{"-max-rooms", "0"}, nil, "-max-rooms"},
		{"no handshake time", []string{"-handshake-timeout", "0s"}, nil, "-handshake-timeout"},
		{"no connect time", []string{"-connect-timeout", "-1s"}, nil, "-connect-timeout"},
		{"no idle room time", []string{"-idle-room", "0s"}, nil, "-idle-room"},
		{"a quorum wait too short", []string{"-nats-append-timeout", "10ms"}, nil, "-nats-append-timeout"},
		{"no pings", []string{"-ping-interval", "0s"}, nil, "-ping-interval"},
		{"no pong wait", []string{"-ping-timeout", "-1s"}, nil, "-ping-timeout"},
		{"short lease", []string{"-lease", "99ms"}, nil, "-lease"},
		{"no replicas", []string{"-nats-replicas", "0"}, nil, "-nats-replicas"},
		{"six replicas", []string{"-nats-replicas", "6"}, nil, "-nats-replicas"},
		{"negative sample", []string{"-log-sample", "-1"}, nil, "-log-sample"},
		{"log level", []string{"-log-level", "loud"}, nil, "-log-level"},
		{"empty log level", []string{"-log-level", ""}, nil, "-log-level"},
		{"log format", []string{"-log-format", "xml"}, nil, "-log-format"},
		{"fsync", []string{"-fsync", "sometimes"}, nil, "sometimes"},
		{"not a duration", []string{"-grace", "soon"}, nil, "-grace"},
		{"unknown flag", []string{"-colour", "blue"}, nil, "-colour"},
		{"extra argument", []string{"now"}, nil, "unexpected arguments: now"},
		{"bad variable", nil, []string{"STATECAST_GRACE=soon"}, "STATECAST_GRACE"},
		{"bad variable value", nil, []string{"STATECAST_HISTORY=0"}, "-history"},
		{"short secret", []string{"-auth-secret", short}, nil, "at least 32 bytes"},
		{"both secrets", []string{"-auth-secret", testSecret, "-auth-secret-file", empty}, nil, "exclude each other"},
		{"empty file", []string{"-auth-secret-file", empty}, nil, "is empty"},
		{"missing file", []string{"-auth-secret-file", filepath.Join(dir, "nope")}, nil, "-auth-secret-file"},
		{"issuer without secret", []string{"-auth-issuer", "x"}, nil, "need -auth-secret"},
		{"audience without secret", nil, []string{"STATECAST_AUTH_AUDIENCE=chat"}, "need -auth-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "error", "-data", t.TempDir()}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := serve(ctx, args, tc.env, func(net.Addr) { t.Error("the server started") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve: %v, want an error about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), short) {
				t.Fatalf("the error echoes the secret: %v", err)
			}
		})
	}
}
