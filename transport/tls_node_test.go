package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestWssSeedClients runs the seed's JavaScript clients (see
// TestSeedClients) over wss, with Node trusting the test's CA
// (NODE_EXTRA_CA_CERTS) and nothing else: three users join, chat, reload,
// drop and leave over TLS.
func TestWssSeedClients(t *testing.T) {
	node, npm := nodeTools(t, "the wss seed client test")
	npmInstall(t, npm, seedClientDir, "ws", "@reduxjs/toolkit")
	ca := newTestCA(t)
	s, _ := startTLS(t, ca, t.TempDir())

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "seedclient.mjs",
		"--grace-ms", "1000", "--timeout-ms", "20000", "wss://"+s.Addr().String()+"/chat")
	cmd.Dir = seedClientDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca.pemFile, "NODE_TLS_REJECT_UNAUTHORIZED=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node seedclient.mjs over wss: %v\n--- stderr:\n%s\n--- stdout:\n%s", err, stderr.String(), stdout.String())
	}
	var sum seedSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &sum); err != nil {
		t.Fatalf("seedclient.mjs summary is not one JSON object: %v\n%s", err, stdout.String())
	}
	if !sum.OK || sum.Sockets != 5 || sum.Frames["connected"] != 5 || len(sum.Redux.Chat.Messages) != 6 {
		t.Fatalf("over wss: ok %v, %d sockets, %d connected frames, %d messages; want ok, 5, 5, 6\n%s",
			sum.OK, sum.Sockets, sum.Frames["connected"], len(sum.Redux.Chat.Messages), stdout.String())
	}
}

// TestWssUntrustedRefused: without the CA, Node refuses the server's
// certificate, so the test above proves the CA was needed and used.
func TestWssUntrustedRefused(t *testing.T) {
	node, npm := nodeTools(t, "the wss trust test")
	npmInstall(t, npm, seedClientDir, "ws")
	ca := newTestCA(t)
	s, _ := startTLS(t, ca, t.TempDir())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	script := `import WebSocket from 'ws'
const ws = new WebSocket(process.argv[1])
ws.on('open', () => { console.log('open'); process.exit(0) })
ws.on('error', (e) => { console.log(e.code || e.message); process.exit(3) })`
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-e", script, "wss://"+s.Addr().String()+"/chat")
	cmd.Dir = seedClientDir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err == nil || !strings.Contains(string(out), "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
		t.Fatalf("node without the CA: %v, %q; want the certificate refused", err, out)
	}
}
