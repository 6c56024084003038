package loadtest

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
