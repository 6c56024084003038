package server_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// fullDiskLogs is a bytes.Buffer safe for concurrent use.
type fullDiskLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *fullDiskLogs) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *fullDiskLogs) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// smallFS mounts a 4 MiB tmpfs for the test, or skips it where that is
// impossible (not Linux, not root); on CI (CI=true) it must work.
func smallFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var err error
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		err = errors.New("needs root on Linux to mount a tmpfs")
	} else if out, merr := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); merr != nil {
		err = errors.New(strings.TrimSpace(string(out)) + ": " + merr.Error())
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a small file system for the full-disk test: %v", err)
		}
		t.Skipf("no small file system to fill (%v); the injected-fault tests of store/file cover this", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file into dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	for _, n := range []int{4096, 512, 64, 1} { // the last bytes too
		for _, err := f.Write(chunk[:n]); err == nil; _, err = f.Write(chunk[:n]) {
		}
	}
	return path
}

// within polls cond every 20ms until it holds or d passed.
func within(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestFullDiskRefusesThenHeals fills the file system under the data
// directory of a running server: writes are refused with unavailable and a
// retry hint at once, /readyz answers 503 with the reason, a metric and an
// error line say why, and a socket closed meanwhile is recorded once the
// disk has room again, which heals the server without a restart.
func TestFullDiskRefusesThenHeals(t *testing.T) {
	data := smallFS(t)
	var logs fullDiskLogs
	s := chattest.Start(t, server.Config{Data: data, Logger: zerolog.New(&logs), RateLimit: unlimited})
	alice, _ := s.Join(t, "/chat/r", "u-alice", "alice")
	bob, _ := s.Join(t, "/chat/r", "u-bob", "bob")
	alice.Say("before")
	alice.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" })
	filler := fill(t, data)

	// The segment's zeros ahead of its records (up to 1 MiB) still take
	// records: big ones, to reach the end of them soon.
	var e chattest.Event
	var took time.Duration
	for i := 0; i < 400 && e.Name() != "error"; i++ {
		start := time.Now()
		alice.Say(strings.Repeat("full ", 3000))
		e = alice.Await(func(e chattest.Event) bool { return e.Name() == "error" || e.Name() == "messageWritten" })
		took = time.Since(start)
	}
	if e.Str("code") != "unavailable" || e.Num("retryAfter") <= 0 || took > time.Second {
		t.Fatalf("a write on a full disk got %v after %v; want unavailable with retryAfter at once", e, took)
	}
	ready := func(code int, text string) func() bool {
		return func() bool {
			resp, body := s.Get(t, "/readyz")
			return resp.StatusCode == code && strings.Contains(body, text)
		}
	}
	if !within(time.Second, ready(503, "no space left on device")) {
		resp, body := s.Get(t, "/readyz")
		t.Fatalf("/readyz on a full disk: %d %s", resp.StatusCode, body)
	}
	if !within(time.Second, metricIs(t, s, "statecast_log_unavailable 1")) {
		t.Fatal("statecast_log_unavailable is not 1 on a full disk")
	}
	if l := logs.String(); !strings.Contains(l, `"level":"error"`) || !strings.Contains(l, "no space left on device") {
		t.Fatalf("no error line names the full disk:\n%s", l)
	}
	bob.Close() // its close is refused now, and recorded once the disk heals
	time.Sleep(100 * time.Millisecond)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if !within(5*time.Second, ready(200, "ready")) {
		resp, body := s.Get(t, "/readyz")
		t.Fatalf("/readyz after freeing space: %d %s", resp.StatusCode, body)
	}
	if !within(time.Second, metricIs(t, s, "statecast_log_unavailable 0")) {
		t.Fatal("statecast_log_unavailable is not 0 once healed")
	}
	alice.Say("after")
	if e := alice.Await(func(e chattest.Event) bool { return e.Name() == "messageWritten" || e.Name() == "error" }); e.Name() != "messageWritten" {
		t.Fatalf("a write after healing got %v", e)
	}
	if !within(5*time.Second, func() bool {
		p, ok := s.Store().GetState().Room("r").Presence("u-bob")
		return !ok || p.Sockets == 0
	}) {
		t.Fatal("bob's socket, closed while the disk was full, is still listed after healing")
	}
	if !strings.Contains(logs.String(), "dispatched again once the storage heals") {
		t.Fatalf("bob's close was not refused while the disk was full:\n%s", logs.String())
	}
}

// metricIs reports whether /metrics holds the line want.
func metricIs(t *testing.T, s *chattest.Server, want string) func() bool {
	return func() bool {
		_, body := s.Get(t, "/metrics")
		return strings.Contains(body, "\n"+want+"\n")
	}
}
