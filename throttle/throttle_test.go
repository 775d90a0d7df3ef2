package throttle

import (
	"testing"
	"time"
)

// ward's default schedule (config's lockout.*): 9 failures free, then
// 30 s, doubling every 10 failures up to 1 h, and the factor off at 100.
func TestScheduleGrowsThenDisables(t *testing.T) {
	p := Policy{FreeFailures: 9, FirstWait: 30 * time.Second, Step: 10, MaxWait: time.Hour, DisableAt: 100}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for n := 1; n <= 9; n++ {
		if u, d := p.After(n, t0); u != nil || d != nil {
			t.Fatalf("failure %d locked: %v %v", n, u, d)
		}
	}
	want := map[int]time.Duration{10: 30 * time.Second, 19: 30 * time.Second, 20: time.Minute, 30: 2 * time.Minute,
		60: 16 * time.Minute, 80: time.Hour, 99: time.Hour}
	for n, w := range want {
		u, d := p.After(n, t0)
		if d != nil || u == nil || u.Sub(t0) != w {
			t.Errorf("failure %d: wait %v disabled %v, want wait %v", n, u, d, w)
		}
	}
	if u, d := p.After(100, t0); d == nil || u != nil {
		t.Errorf("failure 100 must disable the factor, got %v %v", u, d)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	p.DisableAt = 101
	if p.Validate() == nil {
		t.Error("a policy allowing 101 failures must be refused")
	}
}
