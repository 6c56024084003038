package transport_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// nodeTools returns the paths of node and npm. Without them it skips the
// test, or fails it when CI=true.
func nodeTools(t *testing.T, what string) (node, npm string) {
	t.Helper()
	node, nerr := exec.LookPath("node")
	npm, merr := exec.LookPath("npm")
	if err := errors.Join(nerr, merr); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needs node and npm: %v", what, err)
		}
		t.Skipf("node or npm not found, skipping %s: %v", what, err)
	}
	return node, npm
}

// npmInstalls serializes npmInstall: parallel tests share a project
// directory, and `npm ci` deletes node_modules before it fills it again, so
// a test must not run node there while another installs.
var npmInstalls sync.Mutex

// npmInstall runs `npm ci` in dir unless the given dependencies are
// installed there already.
func npmInstall(t *testing.T, npm, dir string, deps ...string) {
	t.Helper()
	npmInstalls.Lock()
	defer npmInstalls.Unlock()
	installed := true
	for _, dep := range deps {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", dep, "package.json")); err != nil {
			installed = false
		}
	}
	if installed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}
