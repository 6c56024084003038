package loadtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statecast/statecast/server"
	"github.com/statecast/statecast/transport"
)

// TestSoakShort runs the soak for a few seconds with every actor at a
// quick rhythm, and checks that each kind of traffic happened and that
// the samples, their CSV and the chart were written.
func TestSoakShort(t *testing.T) {
	s := startServer(t, server.Config{Transport: transport.Config{SendQueue: 64}})
	prefix := filepath.Join(t.TempDir(), "soak")
	c, err := parseArgs([]string{"-mode", "soak", "-url", s.URL("/chat"), "-minutes", "0.05", "-sample", "200ms",
		"-out", prefix, "-clients", "6", "-writers", "3", "-rate", "60", "-churn", "4", "-slow", "2", "-rooms", "2"})
	if err != nil {
		t.Fatal(err)
	}
	quick := soakPeriods{resume: 500 * time.Millisecond, stay: 150 * time.Millisecond,
		slowPause: 300 * time.Millisecond, slowRead: 200 * time.Millisecond}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runSoak(ctx, c, quick, &out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	for _, want := range []string{"joins ", "server RSS", "goroutines", "open file descriptors", "drift"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	for _, none := range []string{"joins 0,", "comebacks 0 ", "writes 0,"} {
		if strings.Contains(out.String(), none) {
			t.Errorf("summary says %q: that traffic never happened", none)
		}
	}

	csv, err := os.ReadFile(prefix + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(rows) < 8 || !strings.HasPrefix(rows[0], "seconds,rss_bytes,heap_bytes,goroutines,fds,queue_frames") {
		t.Errorf("csv: %d rows, header %q; want a header and a row per 200ms of 3s", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		if f := strings.Split(row, ","); len(f) != 8 || f[1] == "0" || f[2] == "0" || f[3] == "0" || f[4] == "0" {
			t.Errorf("csv row %q: want RSS, heap, goroutines and fds sampled", row)
		}
	}
	svg, err := os.ReadFile(prefix + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(svg), "<polyline"); n != len(soakLines) || !strings.HasSuffix(string(svg), "</svg>\n") {
		t.Errorf("chart: %d lines, want %d in a whole svg", n, len(soakLines))
	}
	if _, err := os.Stat(prefix + ".json"); err != nil {
		t.Error(err)
	}
}

func TestSoakRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "soak", "-minutes", "0"},
		{"-mode", "soak", "-sample", "0s"},
		{"-mode", "soak", "-churn", "-1"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
