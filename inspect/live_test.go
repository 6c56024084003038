package inspect_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/internal/chattest"
	"github.com/statecast/statecast/server"
)

// TestServerMountsInspector: off by default; with Config.Inspect the page
// and the API are at /inspect/, and a server in memory only refuses it.
func TestServerMountsInspector(t *testing.T) {
	t.Parallel()
	off := chattest.Start(t, server.Config{})
	if resp, _ := off.Get(t, "/inspect/api/actions"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("inspector off: %d, want 404", resp.StatusCode)
	}
	on := chattest.Start(t, server.Config{Inspect: server.Inspect{Enabled: true, Token: token}})
	if resp, body := on.Get(t, "/inspect/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "statecast inspector") {
		t.Fatalf("inspector on, from loopback: %d %q", resp.StatusCode, body)
	}
	if _, err := server.New(context.Background(), server.Config{Inspect: server.Inspect{Enabled: true}}); err == nil {
		t.Fatal("a server in memory only started an inspector with no log to read")
	}
}

// TestLiveTail: the tail streams each action as the server applies it.
func TestLiveTail(t *testing.T) {
	t.Parallel()
	s := chattest.Start(t, server.Config{Inspect: server.Inspect{Enabled: true}})
	ann, _ := s.Join(t, "/chat/r", "u-ann", "ann")
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL("/inspect/api/tail?type=message/write"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, ct)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for _, text := range []string{"first", "second"} {
		ann.Say(text)
		want := `"summary":"writes \"` + text + `\""`
		for deadline := time.After(chattest.Timeout); ; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the tail ended before %s", text)
				}
				if strings.Contains(l, `"type":"session/`) {
					t.Fatalf("the tail of message/write sent %s", l)
				}
				if !strings.HasPrefix(l, "data: ") || !strings.Contains(l, want) {
					continue
				}
			case <-deadline:
				t.Fatalf("no tail event for %q", text)
			}
			break
		}
	}
	cancel()
	for range lines {
	}
	// The index follows the store: it holds every action applied.
	for deadline := time.Now().Add(chattest.Timeout); ; time.Sleep(20 * time.Millisecond) {
		var info struct{ Last, Indexed uint64 }
		resp, body := s.Get(t, "/inspect/api/info")
		if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("info: %d %s", resp.StatusCode, body)
		}
		if info.Indexed == s.Store().Seq() && info.Last == info.Indexed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("info %+v, store at seq %d: the index does not follow the store", info, s.Store().Seq())
		}
	}
}
