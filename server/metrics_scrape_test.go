package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/statecast/statecast/internal/chattest"
)

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics fetches /metrics and parses the exposition.
func scrapeMetrics(t *testing.T, s *chattest.Server) scrape {
	t.Helper()
	resp, body := s.Get(t, "/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return families
}

// value returns the counter or gauge value, or the histogram sample count,
// of the series of name whose labels are exactly labels ("k=v" pairs); 0
// if there is none.
func (sc scrape) value(name string, labels ...string) float64 {
	f := sc[name]
	if f == nil {
		return 0
	}
	want := strings.Join(labels, ",")
	for _, m := range f.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// byLabel returns the values of every series of name by their label.
func (sc scrape) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range sc[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] = sc.value(name, label+"="+l.GetValue())
			}
		}
	}
	return out
}

// sum returns the sample sum of the histogram name without labels.
func (sc scrape) sum(name string) float64 {
	for _, m := range sc[name].GetMetric() {
		return m.GetHistogram().GetSampleSum()
	}
	return 0
}

// waitMetrics scrapes until ready holds, and returns that scrape.
func waitMetrics(t *testing.T, s *chattest.Server, what string, ready func(scrape) bool) scrape {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sc := scrapeMetrics(t, s)
		if ready(sc) {
			return sc
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sayPaced writes text as the sent-th message and waits for its echo,
// keeping under a per-socket rate limit if the server has one: the first
// 15 at once, then about 8 a second, and a retry after rate_limited.
func sayPaced(t *testing.T, c *chattest.Client, text string, sent int) {
	t.Helper()
	if sent >= 15 {
		time.Sleep(120 * time.Millisecond)
	}
	for {
		c.Say(text)
		switch ev, code := skimUntil(t, c, "messageWritten", "error"); {
		case ev == "messageWritten":
			return
		case code != "rate_limited":
			t.Fatalf("got error %s, want messageWritten", code)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// skimUntil reads frames until one of the events in want, and returns it
// with its error code if any. It decodes no messageWritten frame (JSON
// scanning of big frames is slow under -race) and skips presence events.
func skimUntil(t *testing.T, c *chattest.Client, want ...string) (ev, code string) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.Conn().Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for %v: %v", want, err)
		}
		var e struct{ Event, Code string }
		if bytes.HasPrefix(b, []byte(`{"event":"messageWritten"`)) {
			e.Event = "messageWritten"
		} else if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("frame %.80q: %v", b, err)
		}
		if slices.Contains(want, e.Event) {
			return e.Event, e.Code
		}
		if e.Event != "joined" && e.Event != "disconnected" {
			t.Fatalf("got %s, want one of %v", e.Event, want)
		}
	}
}
