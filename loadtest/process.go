package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Ward is a `ward serve` started as its own process, so that its CPU time
// is its own and not the driver's.
type Ward struct {
	URL string
	cmd *exec.Cmd
}

// StartWard runs exe serve with env added to this process's environment
// (WARD_* settings) and waits until it answers at url.
func StartWard(ctx context.Context, exe, url string, env []string, log io.Writer) (*Ward, error) {
	cmd := exec.Command(exe, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting ward: %w", err)
	}
	w := &Ward{URL: url, cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("ward exited before answering: %v", err)
		default:
		}
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			w.Stop()
			return nil, fmt.Errorf("ward did not answer at %s within 30 s", url)
		}
	}
	go func() { <-exited }()
	return w, nil
}

// CPU is the CPU time (user and system) the process has used so far.
func (w *Ward) CPU() (time.Duration, error) { return ProcessCPU(w.cmd.Process.Pid) }

// Stop asks ward to shut down (SIGTERM) and waits a moment for it.
func (w *Ward) Stop() {
	w.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { w.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
	}
}

// Memory is what a process holds resident, from /proc/PID/status.
type Memory struct {
	// Now is all it holds resident (VmRSS), and Peak the most so far
	// (VmHWM).
	Now, Peak int64
	// Anon is its own memory (RssAnon); File the pages of its binary and
	// libraries it has mapped (RssFile). File depends on how the binary's
	// file came into the page cache as much as on ward: a fault maps
	// whatever of the file the cache holds around it, so the same
	// binary showed 35 MB of File as the system's linker wrote it and 27
	// once copied, or read anew after the cache was dropped. Those pages
	// are shared, and the kernel takes them back when it needs to.
	Anon, File int64
}

// Memory reads what ward holds resident.
func (w *Ward) Memory() (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return Memory{}, fmt.Errorf("reading memory use: %w", err)
	}
	var m Memory
	for l := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			m.Peak = kb << 10
		case "VmRSS":
			m.Now = kb << 10
		case "RssAnon":
			m.Anon = kb << 10
		case "RssFile":
			m.File = kb << 10
		}
	}
	return m, nil
}

// Kill ends ward at once (SIGKILL), as a crash would.
func (w *Ward) Kill() { w.cmd.Process.Kill() }

// ProcessCPU reads a Linux process's CPU time from /proc.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time: %w", err)
	}
	_, cpu, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of process %d: %w", pid, err)
	}
	return cpu, nil
}

// parseStat reads a process's command name and CPU time (user and
// system) from its /proc/PID/stat line.
func parseStat(b []byte) (name string, cpu time.Duration, err error) {
	line := string(b)
	// The command name is in parentheses and may hold spaces and
	// parentheses itself; the fields after the last ") " don't.
	open, end := strings.IndexByte(line, '('), strings.LastIndex(line, ") ")
	if open < 0 || end < open {
		return "", 0, errors.New("unexpected /proc stat line")
	}
	f := strings.Fields(line[end+2:])
	if len(f) < 13 {
		return "", 0, errors.New("unexpected /proc stat line")
	}
	// utime and stime, fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, errors.New("unexpected /proc stat line")
	}
	return line[open+1 : end], time.Duration(u+s) * 10 * time.Millisecond, nil
}

// NamedCPU is the CPU time of each running process with this command
// name (as /proc has it, at most 15 bytes), by process ID: a database on
// the same machine, whose share of the CPU is not ward's.
func NamedCPU(name string) (map[int]time.Duration, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	out := map[int]time.Duration{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // it ended meanwhile
		}
		if n, cpu, err := parseStat(b); err == nil && n == name {
			out[pid] = cpu
		}
	}
	return out, nil
}

// spentSince is the CPU the processes in now spent since before: all of
// it for one that started meanwhile. One that ended meanwhile is not
// counted (a database's connections stay open through a run).
func spentSince(before, now map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, cpu := range now {
		sum += cpu - before[pid]
	}
	return sum
}

// MetricsCPU reads process_cpu_seconds_total from a ward's Prometheus
// metrics at url: a ward the driver did not start.
func MetricsCPU(url string) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		f, err := MetricValue(url, "process_cpu_seconds_total")
		return time.Duration(f * float64(time.Second)), err
	}
}

// MetricsAllocs reads ward's heap allocations so far from its metrics at
// url.
func MetricsAllocs(url string) func() (int64, error) {
	return func() (int64, error) {
		f, err := MetricValue(url, "go_memstats_mallocs_total")
		return int64(f), err
	}
}

// MetricValue reads one series (name and labels exactly as Prometheus's
// text format writes them) from the metrics at url; 0 when absent.
func MetricValue(url, series string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, fmt.Errorf("reading ward's metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("reading ward's metrics: %w", err)
			}
			return f, nil
		}
	}
	return 0, sc.Err()
}
