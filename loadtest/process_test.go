package loadtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// A /proc stat line gives the command name, spaces and parentheses and
// all, and user plus system time in clock ticks.
func TestParseStat(t *testing.T) {
	name, cpu, err := parseStat([]byte("4242 (postgres: a (b)) S 1 4242 4242 0 -1 4194560 120 0 0 0 150 25 0 0 20 0 1 0 99 1 1\n"))
	if err != nil || name != "postgres: a (b)" || cpu != 1750*time.Millisecond {
		t.Fatalf("got %q %v %v", name, cpu, err)
	}
	for _, bad := range []string{"", "4242 postgres S 1", "4242 (postgres) S 1 2 3", "4242 (postgres) S 1 4242 4242 0 -1 4194560 120 0 0 0 x 25 0"} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("%q was read", bad)
		}
	}
}

// The CPU time of processes by name finds this test's own process, and
// what they spent between two readings counts a process that started in
// between in full and one that ended not at all.
func TestNamedCPU(t *testing.T) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("SKIP: no /proc here: %v", err)
	}
	self, _, err := parseStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	procs, err := NamedCPU(self)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := procs[os.Getpid()]; !ok {
		t.Fatalf("process %d (%s) not among %v", os.Getpid(), self, procs)
	}
	before := map[int]time.Duration{1: time.Second, 2: 3 * time.Second}
	now := map[int]time.Duration{1: 1500 * time.Millisecond, 3: 200 * time.Millisecond}
	if got := spentSince(before, now); got != 700*time.Millisecond {
		t.Fatalf("spent %v, want 700ms (0.5 s by one, 0.2 s by a new one)", got)
	}
}

// ward's allocations are read from its metrics, in the float notation
// Prometheus writes large counts in.
func TestMetricsAllocs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP go_memstats_mallocs_total Total number of heap objects allocated.\n# TYPE go_memstats_mallocs_total counter\n"+
			"go_memstats_mallocs_total_other 1\ngo_memstats_mallocs_total 2.7351e+06\n")
	}))
	defer srv.Close()
	n, err := MetricsAllocs(srv.URL + "/metrics")()
	if err != nil || n != 2_735_100 {
		t.Fatalf("allocations %d (%v), want 2735100", n, err)
	}
	srv.Close()
	if _, err := MetricsAllocs(srv.URL + "/metrics")(); err == nil {
		t.Fatal("no error from a ward that does not answer")
	}
}
