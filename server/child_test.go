//go:build unix

package server_test

// Servers in processes of their own, for tests that kill (SIGKILL) or stop
// (SIGSTOP) a server: the test binary run again with childEnv (see
// runChild).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child is one server process.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *childLogs
	done chan struct{} // closed once Wait returned
	err  error         // Wait's result, once done is closed
}

// startChild runs a server process with cfg, waits until it logs its
// address, and makes sure the process is gone when the test ends.
func startChild(t *testing.T, cfg childConfig) *child {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &childLogs{ready: make(chan string, 1)}
	c := &child{t: t, cmd: exec.Command(bin), logs: logs, done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = logs, logs
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting a server process: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	select {
	case c.addr = <-logs.ready:
	case <-c.done:
		t.Fatalf("server process %s exited before serving: %v\n%s", js, c.err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("server process %s did not log its address within 20s\n%s", js, logs.String())
	}
	return c
}

// URL returns the ws:// URL of path on the child.
func (c *child) URL(path string) string { return "ws://" + c.addr + path }

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
