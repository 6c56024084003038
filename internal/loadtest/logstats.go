package loadtest

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogReport is the action log's work during a run, from the server's
// /metrics before and after it: how often it synced, and how many actions
// each sync made durable (group commit).
type LogReport struct {
	Fsyncs          float64 `json:"fsyncs"`
	Appends         float64 `json:"appends"`
	Actions         float64 `json:"actions"`
	FsyncsPerSec    float64 `json:"fsyncs_per_sec"`
	ActionsPerFsync float64 `json:"actions_per_fsync"`
}

// logCounters are the totals behind a LogReport.
type logCounters struct{ fsyncs, appends, actions float64 }

// metricsURL is the /metrics address of the server behind a room's
// WebSocket URL.
func metricsURL(roomURL string) string {
	u, err := url.Parse(roomURL)
	if err != nil {
		return ""
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery, u.Fragment = "/metrics", "", ""
	return u.String()
}

// scrapeLog reads the log's counters from a statecast /metrics page; ok is
// false when there is none (another server, or metrics off).
func scrapeLog(ctx context.Context, metrics string) (c logCounters, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metrics, nil)
	if err != nil {
		return c, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, false
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), " ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "statecast_log_fsync_duration_seconds_count":
			c.fsyncs, ok = v, true
		case "statecast_log_append_batch_size_count":
			c.appends, ok = v, true
		case "statecast_log_append_batch_size_sum":
			c.actions, ok = v, true
		}
	}
	return c, ok
}

// logReport is the log's work between two scrapes over seconds.
func logReport(before, after logCounters, seconds float64) *LogReport {
	r := &LogReport{Fsyncs: after.fsyncs - before.fsyncs, Appends: after.appends - before.appends, Actions: after.actions - before.actions}
	if seconds > 0 {
		r.FsyncsPerSec = r.Fsyncs / seconds
	}
	if r.Fsyncs > 0 {
		r.ActionsPerFsync = r.Actions / r.Fsyncs
	}
	return r
}
