package bench

import (
	"cmp"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU scopes of a measurement: in processes mode the four service
// processes alone, in dev mode the whole bench process, which also runs
// NATS and the load generator.
const (
	cpuScopeServices = "services"
	cpuScopeProcess  = "bench process"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat:
// 100 a second on x86 and ARM Linux. Reading it with
// sysconf(_SC_CLK_TCK) would need cgo.
const clockTicks = 100

// cpuTime returns the CPU time, user and system, that the services
// have used so far, and the scope it covers. It reads /proc, so it
// fails on systems without one.
func (e *env) cpuTime() (time.Duration, string, error) {
	if e.mode == ModeDev {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, "", fmt.Errorf("read CPU time: %w", err)
		}
		used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return used, cpuScopeProcess, nil
	}

	var total time.Duration
	for _, pid := range e.pids {
		used, err := processCPUTime(pid)
		if err != nil {
			return 0, "", err
		}
		total += used
	}
	return total, cpuScopeServices, nil
}

// processCPUTime returns the user and system time of a running process
// from fields 14 and 15 of /proc/PID/stat.
func processCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	// The command name in field 2 is in parentheses and may hold
	// spaces, so the fields are counted from after its closing one.
	stat := string(b)
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("read CPU time of process %d: short /proc stat line", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter is the services' CPU time at the start of a measurement,
// which cpuUse subtracts.
type cpuMeter struct {
	start time.Duration
	err   error
}

func startCPU(e *env) *cpuMeter {
	m := &cpuMeter{}
	m.start, _, m.err = e.cpuTime()
	return m
}

// cpuUse returns the CPU use since m started, per event, for the
// report, or nil with a warning when the CPU time could not be read.
func (e *env) cpuUse(m *cpuMeter, events int) *CPUUse {
	now, scope, err := e.cpuTime()
	if err = cmp.Or(m.err, err); err != nil {
		e.log.Warn("CPU time not measured", "error", err)
		return nil
	}
	if events == 0 {
		return nil
	}
	used := now - m.start
	return &CPUUse{
		Seconds:              used.Seconds(),
		MicrosecondsPerEvent: float64(used.Microseconds()) / float64(events),
		Scope:                scope,
	}
}
