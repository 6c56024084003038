package server_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestVersionString: the line `statecast version` prints names the
// version, the commit with its time and whether the tree was modified, and
// the toolchain; what is unknown is left out.
func TestVersionString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    server.BuildInfo
		want string
	}{
		{server.BuildInfo{Version: "v1.2.0", Commit: "abc123", Time: "2025-01-02T03:04:05Z", Go: "go1.26.1"},
			"statecast v1.2.0 commit abc123 (2025-01-02T03:04:05Z) built with go1.26.1"},
		{server.BuildInfo{Version: "(devel)", Commit: "abc123", Modified: true, Go: "go1.26.1"},
			"statecast (devel) commit abc123+dirty built with go1.26.1"},
		{server.BuildInfo{Version: "(devel)"}, "statecast (devel)"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.b, got, tc.want)
		}
	}
	// A test binary carries no release version nor VCS stamp, but its
	// toolchain.
	if v := server.Version(); v.Version == "" || v.Go != runtime.Version() {
		t.Fatalf("Version() = %+v; want a version and Go %s", v, runtime.Version())
	}
}

// TestVersionLoggedAndExported: the server logs its build as it starts, and
// statecast_build_info carries it in its labels.
func TestVersionLoggedAndExported(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s := chattest.Start(t, server.Config{Logger: zerolog.New(&logs)})
	v := server.Version()

	var start map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &start); err != nil {
		t.Fatalf("first log line: %v\n%s", err, logs.String())
	}
	if start["message"] != "statecast starting" || start["version"] != v.Version || start["go"] != v.Go {
		t.Fatalf("first log line %v; want statecast starting with version %q and go %q", start, v.Version, v.Go)
	}

	sc := scrapeMetrics(t, s)
	if got := sc.value("statecast_build_info", "commit="+v.Commit, "time="+v.Time, "version="+v.Version); got != 1 {
		t.Fatalf("statecast_build_info{version=%q,commit=%q,time=%q} = %v, want 1", v.Version, v.Commit, v.Time, got)
	}
}

// lockedBuffer collects log lines; safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
