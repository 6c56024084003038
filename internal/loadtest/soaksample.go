package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// soakSample is one look at the server during a soak.
type soakSample struct {
	// At is the time since the load started.
	At time.Duration `json:"at"`
	// RSSBytes is the server's resident memory.
	RSSBytes float64 `json:"rssBytes"`
	// HeapBytes is go_memstats_heap_inuse_bytes: the Go heap's spans in
	// use, which RSS follows with the garbage collector's lag.
	HeapBytes float64 `json:"heapBytes"`
	// Goroutines is go_goroutines.
	Goroutines float64 `json:"goroutines"`
	// FDs is the server's open file descriptors.
	FDs float64 `json:"fds"`
	// QueueFrames is statecast_send_queue_frames: frames waiting in all the
	// send queues.
	QueueFrames float64 `json:"queueFrames"`
	// Sockets is statecast_connections_open.
	Sockets float64 `json:"sockets"`
	// RoomFeeds is statecast_room_feeds, when the server has it.
	RoomFeeds float64 `json:"roomFeeds"`
}

// sampler takes soakSamples from the server's /metrics and, with a pid,
// from /proc.
type sampler struct {
	metrics string
	pid     int
	client  *http.Client
}

func newSampler(c config, client *http.Client) (*sampler, error) {
	u, err := url.Parse(c.url)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery = "/metrics", ""
	return &sampler{metrics: u.String(), pid: c.pid, client: client}, nil
}

// take returns one sample, at the given time since the start.
func (s *sampler) take(at time.Duration) (soakSample, error) {
	m, err := s.scrape()
	if err != nil {
		return soakSample{}, err
	}
	smp := soakSample{At: at, RSSBytes: m["process_resident_memory_bytes"], HeapBytes: m["go_memstats_heap_inuse_bytes"],
		Goroutines: m["go_goroutines"],
		FDs:        m["process_open_fds"], QueueFrames: m["statecast_send_queue_frames"],
		Sockets: m["statecast_connections_open"], RoomFeeds: m["statecast_room_feeds"]}
	if s.pid > 0 {
		p, err := readProc(s.pid)
		if err != nil {
			return smp, err
		}
		smp.RSSBytes = float64(p.rssKB) * 1024
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid)); err == nil {
			smp.FDs = float64(len(fds))
		}
	}
	return smp, nil
}

// every takes a sample every interval until ctx ends, and returns those
// that succeeded.
func (s *sampler) every(ctx context.Context, start time.Time, interval time.Duration) []soakSample {
	var out []soakSample
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
		if smp, err := s.take(time.Since(start)); err == nil {
			out = append(out, smp)
		} else {
			fmt.Fprintln(os.Stderr, "statecast-load: sample:", err)
		}
	}
}

// scrape reads the unlabelled samples of the server's /metrics.
func (s *sampler) scrape() (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.metrics, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m, sc.Err()
}
