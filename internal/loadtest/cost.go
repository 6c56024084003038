package loadtest

import (
	"fmt"
	"sync"
	"syscall"
	"time"
)

// otherLoad is the CPU time that programs other than the load generator
// and the server (when its pid is known) used during a run, and a warning
// when it was enough to disturb the numbers (more than a tenth of a core).
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

// cpuSince is the CPU time this process used since selfCPU returned u0
// and s0.
func cpuSince(u0, s0 time.Duration) CPUTime {
	u1, s1 := selfCPU()
	return CPUTime{User: (u1 - u0).Seconds(), Sys: (s1 - s0).Seconds(), Total: (u1 - u0 + s1 - s0).Seconds()}
}
