//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
)

// buildStatecast builds the real binary from this package's directory into
// a temporary directory and returns its path. It is a normal build (no
// -race), whatever the test binary is.
func buildStatecast(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		} else {
			t.Skipf("no go tool to build the binary with: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "statecast")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is one `statecast serve` process.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *childLogs
	done chan struct{} // closed once Wait returned
	err  error         // Wait's result, once done is closed
}

// startChild runs `bin serve` on a loopback port with args, waits until it
// logs its address, and makes sure the process is gone when the test ends.
func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	all := append([]string{"serve", "-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "info"}, args...)
	logs := &childLogs{ready: make(chan string, 1)}
	c := &child{t: t, cmd: exec.Command(bin, all...), logs: logs, done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = logs, logs
	// The test's clients write far faster than people do: no rate limits.
	// As variables, not flags, so that a binary without them ignores them.
	c.cmd.Env = append(childEnv(), "STATECAST_RATE=0", "STATECAST_RATE_PER_ADDRESS=0")
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting statecast: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	select {
	case c.addr = <-logs.ready:
	case <-c.done:
		t.Fatalf("statecast %s exited before serving: %v\n%s", strings.Join(all, " "), c.err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("statecast %s did not log its address within 20s\n%s", strings.Join(all, " "), logs.String())
	}
	return c
}

// exited reports whether the process has ended (by itself or killed).
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to end.
func (c *child) kill() {
	if !c.exited() {
		c.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-c.done
}

// stop asks for a graceful shutdown (SIGTERM) and returns the exit error.
func (c *child) stop(within time.Duration) error {
	if !c.exited() {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
		return c.err
	case <-time.After(within):
		c.kill()
		return fmt.Errorf("no exit within %v of SIGTERM; killed", within)
	}
}

// childLogs collects a child's output and reports the address of the first
// JSON line that says "statecast serving".
type childLogs struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	ready   chan string
	found   bool
}

func (l *childLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.found {
		return len(p), nil
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		l.partial = l.partial[i+1:]
		var rec struct {
			Addr    string `json:"addr"`
			Message string `json:"message"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Message == "statecast serving" && rec.Addr != "" {
			l.found = true
			l.partial = nil
			l.ready <- rec.Addr
			break
		}
	}
	return len(p), nil
}

func (l *childLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// replayedMessage is one message the log's replay appended to a room.
type replayedMessage struct {
	Room string
	actions.Message
}

// replayHistory runs `bin replay` on dir and returns every message the log
// ever appended to a room's window, in seq order: the full history, which
// the server's window (-history) only shows the end of.
func replayHistory(t *testing.T, bin, dir string, history int) []replayedMessage {
	t.Helper()
	out := runTool(t, bin, "replay", "-data", dir, "-history", fmt.Sprint(history),
		"-type", actions.TypeWriteMessage, "-diff", "-format", "json", "-progress", "off")
	var msgs []replayedMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Seq    uint64 `json:"seq"`
			Room   string `json:"room"`
			Change *struct {
				Appended []actions.Message `json:"appended"`
			} `json:"change"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("replay printed a line that is not JSON: %v\n%s", err, sc.Bytes())
		}
		if line.Change == nil {
			continue // the final state's room lines
		}
		for _, m := range line.Change.Appended {
			msgs = append(msgs, replayedMessage{Room: line.Room, Message: m})
		}
	}
	return msgs
}

// runTool runs bin with args and returns its standard output.
func runTool(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = &stdout, &stderr, childEnv()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("statecast %s: %v", strings.Join(args, " "), err)
		}
		t.Fatalf("statecast %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// childEnv is the test's environment without STATECAST_* variables, which
// would change the flags' defaults.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STATECAST_") {
			env = append(env, kv)
		}
	}
	return env
}
