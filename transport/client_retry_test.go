package transport_test

// client.js (served at /client.js) under Node through transient trouble,
// and through refusals that must stop it: each test runs one scenario of
// testdata/clientretry/clientretry.mjs against a server and checks, from
// the server's side, what the client did.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statecast/statecast/actions"
	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/middleware"
	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/store"
	"golang.org/x/time/rate"
)

func TestClientRetryNodeRestart(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Grace: 10 * time.Second})
	const room = "/chat/retry_restart"
	script := startRetryScript(t, "restart", s.HTTPURL("/"), s.URL(room))
	if step := script.line(); step["step"] != "connected" {
		t.Fatalf("first line %v, want the step connected", step)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the client's attempts meanwhile find no server
	s = chattest.Start(t, s.Config)
	sum := script.summary()

	if r := sum.reason(t, "socket_closed", 1001); r.Status != "reconnecting" || r.Error.RetryAt == 0 {
		t.Errorf("the reason after the shutdown: %+v, want reconnecting with a retryAt", r)
	}
	if len(sum.Errors) > 0 || sum.Frames["snapshot"]+sum.Frames["resumed"] < 2 {
		t.Errorf("errors %v, frames %v: want none, and an answer to each connect", sum.Errors, sum.Frames)
	}
	fresh := s.JoinV2(t, room, "", "fresh")
	if got := strings.Join(fresh.State().Texts(), "|"); got != "before the restart|queued while down" {
		t.Errorf("messages after the restart: %q", got)
	}
}

func TestClientRetryNodeRefusals(t *testing.T) {
	t.Parallel()
	const hint = 150 * time.Millisecond
	connects := &refuser{typ: actions.TypeConnect, hint: hint,
		codes: []string{actions.CodeRateLimited, actions.CodeUnconfirmed, actions.CodeInternal, actions.CodeUnavailable}}
	writes := &refuser{typ: actions.TypeWriteMessage, hint: hint,
		codes: []string{actions.CodeRateLimited, actions.CodeUnconfirmed, actions.CodeUnavailable}}
	s := chattest.Start(t, server.Config{}, connects.middleware, writes.middleware)
	const room = "/chat/retry_refusals"
	sum := startRetryScript(t, "refusals", s.HTTPURL("/"), s.URL(room)).summary()

	// Each refusal was retried, no sooner than its hint.
	connects.wantRetried(t, 5, hint)
	writes.wantRetried(t, 4, hint)
	for _, code := range connects.codes {
		if r := sum.reason(t, code, 0); r.Error.RetryAfter != hint.Milliseconds() || r.Error.RetryAt == 0 {
			t.Errorf("reason %+v: want retryAfter %d and a retryAt", r, hint.Milliseconds())
		}
	}
	if len(sum.Errors) > 0 || sum.Frames["error"] != 7 {
		t.Errorf("onError got %v, frames %v: want no call for 7 error frames", sum.Errors, sum.Frames)
	}
	if sum.Sockets != 2 {
		t.Errorf("%d sockets, want 2: a new one only after unavailable", sum.Sockets)
	}
	fresh := s.JoinV2(t, room, "", "fresh")
	if got := fresh.State().Texts(); len(got) != 1 || got[0] != "refused thrice" {
		t.Errorf("messages %q, want the refused one once", got)
	}
}

func TestClientRetryNodeRateLimit(t *testing.T) {
	t.Parallel()
	// Two actions a second per socket, the connect included.
	s := chattest.Start(t, server.Config{RateLimit: middleware.RateLimitOptions{PerSession: 2, SessionBurst: 2, PerAddress: rate.Inf}})
	const room = "/chat/retry_ratelimit"
	sum := startRetryScript(t, "ratelimit", s.HTTPURL("/"), s.URL(room)).summary()
	if sum.Frames["error"] == 0 || len(sum.Errors) > 0 {
		t.Errorf("error frames %d, onError %v: want refusals, none reported", sum.Frames["error"], sum.Errors)
	}
	fresh := s.JoinV2(t, room, "", "fresh")
	if got := fresh.State().Texts(); len(got) != 6 {
		t.Errorf("messages %q, want the six of the burst once each", got)
	}
}

func TestClientRetryNodeHandshake503(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{})
	door := refusingDoor(t, s, 2, "1")
	const room = "/chat/retry_handshake"
	sum := startRetryScript(t, "handshake", s.HTTPURL("/"), "ws"+strings.TrimPrefix(door.url, "http")+room).summary()

	door.wantRetried(t, 3, time.Second)
	r := sum.reason(t, "handshake_refused", 0)
	if r.Error.HTTPStatus != http.StatusServiceUnavailable || r.Error.RetryAfter != 1000 || r.Status != "reconnecting" {
		t.Errorf("reason %+v: want HTTP 503 with retryAfter 1000, reconnecting", r)
	}
}

func TestClientRetryNodeStopsOnTokenInvalid(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Auth: middleware.AuthOptions{Secret: []byte("a secret of 32 bytes or more, for the retry tests")}})
	sum := startRetryScript(t, "stop", s.HTTPURL("/"), s.URL("/chat/retry_token"), "--token", "not-a-jwt").summary()
	r := sum.reason(t, actions.CodeTokenInvalid, 0)
	if r.Status != "stopped" || r.Error.RetryAt != 0 || sum.Sockets != 1 {
		t.Errorf("reason %+v after %d sockets: want stopped, no retry, one socket", r, sum.Sockets)
	}
	if len(sum.Errors) != 1 || sum.Errors[0].Code != actions.CodeTokenInvalid {
		t.Errorf("onError got %+v, want the token error", sum.Errors)
	}
}

func TestClientRetryNodeStopsOnClose1008(t *testing.T) {
	t.Parallel()
	// The refusal that closes a socket refused too often: a transient code,
	// then close 1008.
	kick := &refuser{typ: actions.TypeConnect, codes: []string{actions.CodeRateLimited}, close: actions.ClosePolicy}
	s := chattest.Start(t, server.Config{}, kick.middleware)
	sum := startRetryScript(t, "stop", s.HTTPURL("/"), s.URL("/chat/retry_1008")).summary()
	r := sum.reason(t, "socket_closed", 1008)
	if r.Status != "stopped" || r.Error.Message != "refused by the test" || sum.Sockets != 1 {
		t.Errorf("reason %+v after %d sockets: want stopped with the close's reason, one socket", r, sum.Sockets)
	}
	kick.wantRetried(t, 1, 0)
}

// refuser is a middleware that refuses the first actions of type typ from
// sockets with codes, in order, each with the retryAfter hint (and the
// close code close, if not zero), and records when each of them came.
type refuser struct {
	typ   string
	codes []string
	hint  time.Duration
	close int

	mu    sync.Mutex
	times []time.Time
}

func (r *refuser) middleware(next store.Dispatch) store.Dispatch {
	return func(ctx context.Context, a *actions.Action) error {
		if _, ok := actions.SourceFrom(ctx); !ok || a.Type != r.typ {
			return next(ctx, a)
		}
		r.mu.Lock()
		n := len(r.times)
		r.times = append(r.times, time.Now())
		r.mu.Unlock()
		if n < len(r.codes) {
			return &actions.Error{Code: r.codes[n], Message: "refused by the test", RetryAfter: r.hint, Close: r.close}
		}
		return next(ctx, a)
	}
}

// wantRetried checks that n actions came, each at least hint after the one
// before.
func (r *refuser) wantRetried(t *testing.T, n int, hint time.Duration) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.times) != n {
		t.Errorf("%s: %d attempts, want %d", r.typ, len(r.times), n)
	}
	for i := 1; i < len(r.times); i++ {
		if gap := r.times[i].Sub(r.times[i-1]); gap < hint {
			t.Errorf("%s: attempt %d came %v after the one before, sooner than the hint %v", r.typ, i+1, gap, hint)
		}
	}
}

// door is a reverse proxy to a server that refuses its first handshakes
// with 503 and a Retry-After header.
type door struct {
	url string
	refuser
}

func refusingDoor(t *testing.T, s *chattest.Server, refuse int, retryAfter string) *door {
	target, err := url.Parse(s.HTTPURL("/"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	d := &door{refuser: refuser{typ: "handshake"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d.mu.Lock()
		n := len(d.times)
		d.times = append(d.times, time.Now())
		d.mu.Unlock()
		if n < refuse {
			w.Header().Set("Retry-After", retryAfter)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

// clientRetryDir is a Node project that runs client.js through one scenario.
const clientRetryDir = "testdata/clientretry"

// retryScript is clientretry.mjs running one scenario.
type retryScript struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *bufio.Scanner
	stderr bytes.Buffer
}

// startRetryScript runs `node clientretry.mjs scenario httpURL wsURL args...`.
func startRetryScript(t *testing.T, scenario, httpURL, wsURL string, args ...string) *retryScript {
	t.Helper()
	node, npm := nodeTools(t, "the client.js retry tests under Node")
	npmInstall(t, npm, clientRetryDir, "ws")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	s := &retryScript{t: t}
	s.cmd = exec.CommandContext(ctx, node, append([]string{"clientretry.mjs", scenario, httpURL, wsURL, "--timeout-ms", "25000"}, args...)...)
	s.cmd.Dir = clientRetryDir
	s.cmd.WaitDelay = 5 * time.Second
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("node clientretry.mjs: %v", err)
	}
	s.out = bufio.NewScanner(stdout)
	s.out.Buffer(nil, 1<<20)
	t.Cleanup(func() {
		cancel()
		s.cmd.Wait()
	})
	return s
}

// line returns the script's next JSON line; it fails the test, with what
// the script said, if there is none.
func (s *retryScript) line() map[string]any {
	s.t.Helper()
	if !s.out.Scan() {
		err := s.cmd.Wait()
		s.t.Fatalf("clientretry.mjs ended (%v) without a line:\n%s", err, s.stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(s.out.Bytes(), &v); err != nil {
		s.t.Fatalf("clientretry.mjs wrote %q: %v", s.out.Text(), err)
	}
	return v
}

// retrySummary is the script's last line.
type retrySummary struct {
	OK       bool
	Status   string
	Statuses []string
	Reasons  []retryReason
	Errors   []struct{ Code, Ref string }
	Frames   map[string]int
	Sockets  int
	raw      string
}

// retryReason is one connectionError the client gave, with its status then
// and when, in ms from the client's start.
type retryReason struct {
	Error struct {
		Code, Message         string
		CloseCode, HTTPStatus int
		RetryAfter, RetryAt   int64
	}
	Status string
	AtMs   int
}

// summary reads the summary and waits for the script to exit 0.
func (s *retryScript) summary() retrySummary {
	s.t.Helper()
	v := s.line()
	raw, _ := json.Marshal(v)
	var sum retrySummary
	if err := json.Unmarshal(raw, &sum); err != nil || !sum.OK {
		s.t.Fatalf("clientretry.mjs summary %s: %v", raw, err)
	}
	if err := s.cmd.Wait(); err != nil {
		s.t.Fatalf("clientretry.mjs: %v\n%s", err, s.stderr.String())
	}
	sum.raw = string(raw)
	s.t.Logf("statuses %v, %d reasons, frames %v", sum.Statuses, len(sum.Reasons), sum.Frames)
	return sum
}

// reason returns the first reason the client gave with code (and, if not
// zero, closeCode); it fails the test if there is none.
func (sum retrySummary) reason(t *testing.T, code string, closeCode int) retryReason {
	t.Helper()
	for _, r := range sum.Reasons {
		if r.Error.Code == code && (closeCode == 0 || r.Error.CloseCode == closeCode) {
			return r
		}
	}
	t.Fatalf("no reason %s %d in %s", code, closeCode, sum.raw)
	return retryReason{}
}
