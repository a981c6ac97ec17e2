package audit

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system.
// Benchmarks report it per operation because wall-clock figures depend on
// whatever else runs on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
