package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// soakSeries is one line of the soak chart.
type soakSeries struct {
	title string
	unit  string
	scale float64 // the sample's value is divided by it
	get   func(soakSample) float64
}

var soakLines = []soakSeries{
	{"server RSS", "MiB", 1 << 20, func(s soakSample) float64 { return s.RSSBytes }},
	{"Go heap in use", "MiB", 1 << 20, func(s soakSample) float64 { return s.HeapBytes }},
	{"goroutines", "", 1, func(s soakSample) float64 { return s.Goroutines }},
	{"open file descriptors", "", 1, func(s soakSample) float64 { return s.FDs }},
	{"frames waiting in send queues", "", 1, func(s soakSample) float64 { return s.QueueFrames }},
	{"sockets open", "", 1, func(s soakSample) float64 { return s.Sockets }},
}

// drift compares a series' mean over the second quarter of the run (past
// the warm-up) with its mean over the last quarter: the relative growth,
// 0 for a flat line.
func drift(samples []soakSample, get func(soakSample) float64) float64 {
	n := len(samples)
	if n < 4 {
		return 0
	}
	mean := func(part []soakSample) float64 {
		var sum float64
		for _, s := range part {
			sum += get(s)
		}
		return sum / float64(len(part))
	}
	early, late := mean(samples[n/4:n/2]), mean(samples[n-n/4:])
	if early == 0 {
		return 0
	}
	return late/early - 1
}

// writeSoakFiles writes prefix.csv, prefix.json and prefix.svg.
func writeSoakFiles(prefix string, samples []soakSample, counts *soakCounts) error {
	var csv strings.Builder
	csv.WriteString("seconds,rss_bytes,heap_bytes,goroutines,fds,queue_frames,sockets,room_feeds\n")
	for _, s := range samples {
		fmt.Fprintf(&csv, "%.1f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n", s.At.Seconds(), s.RSSBytes, s.HeapBytes, s.Goroutines,
			s.FDs, s.QueueFrames, s.Sockets, s.RoomFeeds)
	}
	js, err := json.MarshalIndent(map[string]any{"samples": samples, "counts": counts}, "", "  ")
	if err != nil {
		return err
	}
	var svg strings.Builder
	drawSoak(&svg, samples)
	for ext, body := range map[string]string{".csv": csv.String(), ".json": string(js) + "\n", ".svg": svg.String()} {
		if err := os.WriteFile(prefix+ext, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// drawSoak draws one panel per soakLines series, stacked, sharing the
// time axis; each panel's y axis starts at zero, so that a flat line
// looks flat.
func drawSoak(w io.Writer, samples []soakSample) {
	const width, panel, left, right, top = 760, 110, 70, 20, 30
	height := top + len(soakLines)*panel + 30
	end := samples[len(samples)-1].At
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="%d" y="18" font-size="13">statecast soak: %s, a sample every %s</text>`+"\n",
		left, end.Round(time.Second), sampleStep(samples))
	plotW := float64(width - left - right)
	for i, line := range soakLines {
		y0 := float64(top + i*panel)
		h := float64(panel - 30)
		hi := 0.0
		for _, s := range samples {
			hi = max(hi, line.get(s)/line.scale)
		}
		hi = niceCeil(hi)
		fmt.Fprintf(w, `<text x="%d" y="%.0f">%s%s (drift %+.1f%%)</text>`+"\n", left, y0+10, line.title, unitSuffix(line.unit),
			100*drift(samples, line.get))
		fmt.Fprintf(w, `<rect x="%d" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#ccc"/>`+"\n", left, y0+16, plotW, h)
		fmt.Fprintf(w, `<text x="%d" y="%.0f" text-anchor="end">%s</text>`+"\n", left-4, y0+20, fmtValue(hi))
		fmt.Fprintf(w, `<text x="%d" y="%.0f" text-anchor="end">0</text>`+"\n", left-4, y0+16+h)
		var pts strings.Builder
		for _, s := range samples {
			x := float64(left) + plotW*float64(s.At)/float64(max(end, 1))
			y := y0 + 16 + h
			if hi > 0 {
				y -= h * line.get(s) / line.scale / hi
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="%s"/>`+"\n", strings.TrimSpace(pts.String()))
	}
	fmt.Fprintf(w, `<text x="%d" y="%d">0</text><text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
		left, height-8, width-right, height-8, end.Round(time.Second))
	fmt.Fprintln(w, "</svg>")
}

func unitSuffix(unit string) string {
	if unit == "" {
		return ""
	}
	return ", " + unit
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	step := 1.0
	for {
		for _, m := range []float64{1, 2, 5} {
			if m*step >= v {
				return m * step
			}
		}
		step *= 10
	}
}

func fmtValue(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.0f", v), ".0") }

// sampleStep is the interval between the first two samples.
func sampleStep(samples []soakSample) time.Duration {
	if len(samples) < 2 {
		return 0
	}
	return (samples[1].At - samples[0].At).Round(100 * time.Millisecond)
}

// printSoak prints the soak's totals and each line's drift.
func printSoak(w io.Writer, c config, samples []soakSample, counts *soakCounts) {
	fmt.Fprintf(w, "soak of %s: %d residents (%d writing %.0f msgs/s in all), %d churning, %d slow readers, %d rooms\n",
		c.soakFor, c.clients, c.writers, c.rate, c.churn, c.slow, c.rooms)
	fmt.Fprintf(w, "joins %d, comebacks %d (%d answered with a snapshot), writes %d, refusals %d, 1013 closes %d, failed connects %d\n",
		counts.Joins.Load(), counts.Resumes.Load(), counts.ResumedWithSnapshot.Load(), counts.Writes.Load(),
		counts.Refused.Load(), counts.Closed1013.Load(), counts.Failures.Load())
	for _, line := range soakLines {
		first, last := line.get(samples[0])/line.scale, line.get(samples[len(samples)-1])/line.scale
		fmt.Fprintf(w, "  %-30s first %10.1f  last %10.1f  drift %+6.1f%%\n", line.title+unitSuffix(line.unit), first, last,
			100*drift(samples, line.get))
	}
	fmt.Fprintf(w, "samples: %s.csv, %s.json; chart: %s.svg\n", c.out, c.out, c.out)
}
