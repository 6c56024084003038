package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// selfCPU returns the CPU time this process has used, user and system.
func selfCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// procSample is what /proc tells of another process at one moment.
type procSample struct {
	cpu   time.Duration // user + system
	rssKB int64
}

// readProc samples process pid from /proc/pid/stat (utime and stime, in
// clock ticks) and /proc/pid/status (VmRSS).
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name in (…) may hold spaces: count fields after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// Fields 14 and 15 of stat(5); f[0] is field 3.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	s.cpu = time.Duration(utime+stime) * time.Second / time.Duration(clockTicks())
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb := strings.TrimSuffix(strings.TrimSpace(rest), " kB")
			s.rssKB, _ = strconv.ParseInt(strings.TrimSpace(kb), 10, 64)
		}
	}
	return s, nil
}

// clockTicks is sysconf(_SC_CLK_TCK), the unit of /proc/pid/stat times,
// read from this process's auxiliary vector (AT_CLKTCK); 100 if unknown.
var clockTicks = sync.OnceValue(func() int64 {
	const atClkTck = 17
	if b, err := os.ReadFile("/proc/self/auxv"); err == nil {
		for i := 0; i+16 <= len(b); i += 16 {
			if binary.NativeEndian.Uint64(b[i:]) == atClkTck {
				if v := int64(binary.NativeEndian.Uint64(b[i+8:])); v > 0 {
					return v
				}
			}
		}
	}
	return 100
})

// machineBusy returns the CPU time all processes of the machine have used
// since boot (every core's user, nice, system and steal time in
// /proc/stat), to tell how much of a run's CPU went to other programs.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		// Skip idle and iowait, and irq and softirq: the kernel's network
		// processing of the run's own loopback traffic lands there.
		if i >= 3 && i <= 6 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / time.Duration(clockTicks())
}

// otherLoad is the CPU time that programs other than the bench and the
// server (when its pid is known) used during a run, and a warning when it
// was enough to disturb the numbers (more than a tenth of a core).
func otherLoad(machine0 time.Duration, loadgen, server float64, wall float64) (float64, string) {
	other := (machineBusy() - machine0).Seconds() - loadgen - server
	if other > 0.1*wall && other > 0.05 {
		return other, fmt.Sprintf("other programs used %.1f s of CPU during a %.1f s run (%.0f%% of a core): the machine was not quiet, throughput and latency are disturbed", other, wall, 100*other/wall)
	}
	return max(other, 0), ""
}

// rssPeak samples a process's RSS every interval until stop, and keeps the
// highest value seen.
type rssPeak struct {
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

func watchRSS(pid int, every time.Duration) *rssPeak {
	p := &rssPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if s, err := readProc(pid); err == nil {
				p.mu.Lock()
				p.peak = max(p.peak, s.rssKB)
				p.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Stop ends the sampling and returns the peak in KiB.
func (p *rssPeak) Stop() int64 {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to at least need descriptors
// when the hard limit allows; it returns a warning when it does not.
func raiseFileLimit(need uint64) string {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return ""
	}
	if lim.Cur >= need {
		return ""
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Sprintf("could not raise the open-file limit to %d: %v", need, err)
	}
	if lim.Cur < need {
		return fmt.Sprintf("the open-file hard limit is %d, below the %d this run needs: raise it (ulimit -Hn, as root) or use fewer clients", lim.Max, need)
	}
	return ""
}

// baseline is what a run reads before it starts, to report what it cost:
// the server's CPU and RSS (with its RSS peak watched from then on), the
// load generator's own CPU, and the machine's.
type baseline struct {
	server    procSample
	serverErr error
	peak      *rssPeak // nil without a server pid
	user, sys time.Duration
	machine   time.Duration
}

// takeBaseline reads the baseline; pid 0 means no server to watch.
func takeBaseline(pid int) baseline {
	var b baseline
	if pid > 0 {
		b.server, b.serverErr = readProc(pid)
		b.peak = watchRSS(pid, 100*time.Millisecond)
	}
	b.user, b.sys = selfCPU()
	b.machine = machineBusy()
	return b
}
