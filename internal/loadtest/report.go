package loadtest

import "slices"

// Report is the result of one load test: Run prints it as a summary or,
// with -json, as this JSON object. Sections that do not apply to the mode
// are nil or empty.
type Report struct {
	Mode     string         `json:"mode"`
	Dialect  string         `json:"dialect"`
	URL      string         `json:"url"`
	Clients  int            `json:"clients"`
	Writers  int            `json:"writers,omitempty"`
	Messages int            `json:"messages,omitempty"`
	Rate     float64        `json:"rate,omitempty"`
	Inflight int            `json:"inflight,omitempty"`
	Size     int            `json:"size,omitempty"`
	PID      int            `json:"pid,omitempty"`
	Fill     *FillReport    `json:"fill,omitempty"`
	Connect  *ConnectReport `json:"connect,omitempty"`
	Runs     []*RunReport   `json:"runs,omitempty"`
	Storm    *StormReport   `json:"storm,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// FillReport is the history pre-fill of -history-fill.
type FillReport struct {
	Messages  int     `json:"messages"`
	Delivered int     `json:"delivered"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// ConnectReport is how long the fan-out clients took to connect, and the
// room to settle (no frame for a while: joined events drained).
type ConnectReport struct {
	Seconds       float64 `json:"seconds"`
	SettleSeconds float64 `json:"settle_seconds"`
}

// RunReport is one fan-out run, from the first send to the last delivery.
type RunReport struct {
	Name             string           `json:"name"`
	TimedOut         bool             `json:"timed_out,omitempty"`
	Stalled          bool             `json:"stalled,omitempty"`
	Seconds          float64          `json:"seconds"`      // first send to last delivery
	WallSeconds      float64          `json:"wall_seconds"` // first send to the end of the run: the CPU figures' window
	Expected         int64            `json:"expected"`
	Deliveries       int64            `json:"deliveries"`
	Lost             int64            `json:"lost"`
	Duplicates       int64            `json:"duplicates"`
	Reordered        int64            `json:"reordered"`
	Rejected         int64            `json:"rejected_writes"`
	Foreign          int64            `json:"foreign_messages,omitempty"`
	SlowPathFrames   int64            `json:"slow_path_frames"`
	SeqRegressions   int64            `json:"seq_regressions,omitempty"`
	Resyncs          int64            `json:"resyncs,omitempty"`
	Frames           int64            `json:"frames"`
	DeliveriesPerSec float64          `json:"deliveries_per_sec"`
	Latency          Latency          `json:"latency_ms"`
	Loadgen          CPUTime          `json:"loadgen_cpu"`
	OtherCPU         float64          `json:"other_cpu_s"` // used by other programs during the run
	Server           *ServerReport    `json:"server,omitempty"`
	SlowReaders      []SlowReader     `json:"slow_readers,omitempty"`
	Flood            *FloodReport     `json:"flood,omitempty"`
	Log              *LogReport       `json:"log,omitempty"`
	Errors           map[string]int64 `json:"errors,omitempty"`
	Disconnected     int64            `json:"sockets_lost,omitempty"`
	warning          string
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CPUTime is CPU time in seconds.
type CPUTime struct {
	User  float64 `json:"user_s"`
	Sys   float64 `json:"sys_s"`
	Total float64 `json:"total_s"`
}

// ServerReport is what /proc told of the server (-pid) over a run.
type ServerReport struct {
	CPU              float64 `json:"cpu_s"`
	CPUPerDeliveryUs float64 `json:"cpu_per_delivery_us,omitempty"`
	CPUPerMessageUs  float64 `json:"cpu_per_message_us,omitempty"`
	RSSBeforeKB      int64   `json:"rss_before_kb"`
	RSSAfterKB       int64   `json:"rss_after_kb"`
	RSSPeakKB        int64   `json:"rss_peak_kb"`
	Error            string  `json:"error,omitempty"`
}

// SlowReader tells what became of a client that stopped reading.
type SlowReader struct {
	CloseCode int    `json:"close_code"` // -1: no close frame
	Outcome   string `json:"outcome"`
	Frames    int    `json:"frames_read_after"`
}

// StormReport is the result of -mode storm.
type StormReport struct {
	Attempted        int            `json:"attempted"`
	Connected        int            `json:"connected"`
	Failed           int            `json:"failed"`
	Failures         map[string]int `json:"failures,omitempty"`
	Seconds          float64        `json:"seconds"`
	HandshakesPerSec float64        `json:"handshakes_per_sec"`
	Latency          Latency        `json:"handshake_latency_ms"`
	SettleSeconds    float64        `json:"settle_seconds"`
	HoldSeconds      float64        `json:"hold_seconds"`
	Frames           int64          `json:"frames"`
	Lost             int64          `json:"sockets_lost"` // closed by the server before the tool closed them
	Loadgen          CPUTime        `json:"loadgen_cpu"`
	OtherCPU         float64        `json:"other_cpu_s"`
	Server           *StormServer   `json:"server,omitempty"`
}

// StormServer is the server's memory around a storm.
type StormServer struct {
	CPU              float64 `json:"cpu_s"`
	RSSBeforeKB      int64   `json:"rss_before_kb"`
	RSSAfterKB       int64   `json:"rss_after_kb"`
	RSSAfterHoldKB   int64   `json:"rss_after_hold_kb"`
	RSSPeakKB        int64   `json:"rss_peak_kb"`
	RSSPerConnKB     float64 `json:"rss_per_conn_kb"`
	RSSPerConnHoldKB float64 `json:"rss_per_conn_after_hold_kb"`
	Error            string  `json:"error,omitempty"`
}

// percentiles sorts ns (nanoseconds) and reports nearest-rank percentiles.
func percentiles(ns []int64) Latency {
	if len(ns) == 0 {
		return Latency{}
	}
	slices.Sort(ns)
	at := func(p float64) float64 {
		i := int(float64(len(ns))*p+0.999999) - 1
		return ms(ns[min(max(i, 0), len(ns)-1)])
	}
	return Latency{N: len(ns), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ns[len(ns)-1])}
}

// ms converts nanoseconds to milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }
