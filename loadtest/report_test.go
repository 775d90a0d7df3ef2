package loadtest

import (
	"strings"
	"testing"
	"time"
)

// Each level reports where its sign-ins' time went, stage by stage, and
// the next level starts counting anew.
func TestStagesAreReportedPerLevel(t *testing.T) {
	var dr Driver
	t0 := time.Now()
	for i := 1; i <= 100; i++ {
		// start i ms, code 10·i ms, verify 1 ms
		t1 := t0.Add(time.Duration(i) * time.Millisecond)
		t2 := t1.Add(time.Duration(10*i) * time.Millisecond)
		dr.recordStages(t0, t1, t2, t2.Add(time.Millisecond))
	}
	st := dr.takeStages()
	want := []Stage{{"start", 51 * time.Millisecond, 100 * time.Millisecond}, {"code", 510 * time.Millisecond, 1000 * time.Millisecond},
		{"verify", time.Millisecond, time.Millisecond}}
	if len(st) != len(want) {
		t.Fatalf("stages %+v", st)
	}
	for i := range want {
		if st[i] != want[i] {
			t.Errorf("stage %d: %+v, want %+v", i, st[i], want[i])
		}
	}
	if again := dr.takeStages(); len(again) != 0 {
		t.Fatalf("the next level starts with %+v", again)
	}
	s := Report{Concurrency: 1, What: "sign-ins", SignIns: 100, Elapsed: time.Second, Stages: st}.String()
	if !strings.Contains(s, "stages, p50/p99: start 51.0/100.0 ms, code 510.0/1000.0 ms, verify 1.0/1.0 ms") {
		t.Fatalf("report:\n%s", s)
	}
}

// Each level reports ward's heap allocations per sign-in when they are
// known: a figure this machine's changing speed does not move, so builds
// can be compared by it when their rates cannot be told apart.
func TestAllocationsAreReportedPerSignIn(t *testing.T) {
	r := Report{Concurrency: 32, What: "sign-ins", SignIns: 100, Elapsed: time.Second, Allocs: 263_449}
	if s := r.String(); !strings.Contains(s, "ward allocations 2634/sign-in") {
		t.Fatalf("report:\n%s", s)
	}
	r.Allocs = 0
	if s := r.String(); strings.Contains(s, "allocations") {
		t.Fatalf("unknown allocations reported:\n%s", s)
	}
}
