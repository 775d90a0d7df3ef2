// Package loadtest drives complete passwordless sign-ins against a running
// ward over HTTP (start → the code mail, signed and relayed over SMTP to
// the driver's sink → verify → session) and reports throughput, latency
// percentiles, errors by reason and ward's CPU time per sign-in.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Report is one run at one concurrency.
type Report struct {
	// What is being counted ("sign-ins", "pages").
	What        string
	Concurrency int
	SignIns     int
	Errors      int
	// Reasons counts the errors by what went wrong.
	Reasons map[string]int
	Elapsed time.Duration
	// CPU is the CPU time ward spent during the run (0: not known).
	CPU time.Duration
	// DriverCPU is what the driver itself (and its SMTP sink) spent: on
	// one machine, CPU that ward did not get.
	DriverCPU time.Duration
	// DatabaseCPU is what a database on the same machine spent (0: not
	// measured).
	DatabaseCPU time.Duration
	// DatabaseTrips counts the round trips to the database (0: not
	// counted), background work included.
	DatabaseTrips int64
	// Allocs counts ward's heap allocations during the run (0: not
	// known).
	Allocs int64
	P50    time.Duration
	P95    time.Duration
	P99    time.Duration
	// Stages are the parts of a sign-in, each with its own percentiles:
	// where its time went.
	Stages []Stage
}

// Stage is one part of a sign-in, measured over the sign-ins that
// completed.
type Stage struct {
	Name     string
	P50, P99 time.Duration
}

// PerSecond is complete sign-ins per second.
func (r Report) PerSecond() float64 { return float64(r.SignIns) / r.Elapsed.Seconds() }

func (r Report) String() string {
	s := fmt.Sprintf("concurrency %3d: %6d %s in %5.1fs = %7.1f %s/s  p50 %6.2fms  p95 %6.2fms  p99 %6.2fms  errors %d",
		r.Concurrency, r.SignIns, r.What, r.Elapsed.Seconds(), r.PerSecond(), r.What, ms(r.P50), ms(r.P95), ms(r.P99), r.Errors)
	if r.CPU > 0 && r.SignIns > 0 {
		s += fmt.Sprintf("  ward CPU %.2fms/%s", ms(r.CPU)/float64(r.SignIns), strings.TrimSuffix(r.What, "s"))
	}
	if r.DriverCPU > 0 && r.SignIns > 0 {
		s += fmt.Sprintf(", driver %.2fms", ms(r.DriverCPU)/float64(r.SignIns))
	}
	if r.DatabaseCPU > 0 && r.SignIns > 0 {
		s += fmt.Sprintf(", PostgreSQL %.2fms", ms(r.DatabaseCPU)/float64(r.SignIns))
	}
	if r.DatabaseTrips > 0 && r.SignIns > 0 {
		s += fmt.Sprintf("  round trips to PostgreSQL %.1f/%s", float64(r.DatabaseTrips)/float64(r.SignIns), strings.TrimSuffix(r.What, "s"))
	}
	if r.Allocs > 0 && r.SignIns > 0 {
		s += fmt.Sprintf("  ward allocations %.0f/%s", float64(r.Allocs)/float64(r.SignIns), strings.TrimSuffix(r.What, "s"))
	}
	if len(r.Stages) > 0 {
		parts := make([]string, len(r.Stages))
		for i, st := range r.Stages {
			parts[i] = fmt.Sprintf("%s %.1f/%.1f ms", st.Name, ms(st.P50), ms(st.P99))
		}
		s += "\n    stages, p50/p99: " + strings.Join(parts, ", ")
	}
	reasons := slices.SortedFunc(maps.Keys(r.Reasons), func(a, b string) int { return r.Reasons[b] - r.Reasons[a] })
	for _, k := range reasons {
		s += fmt.Sprintf("\n    %6d × %s", r.Reasons[k], k)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selfCPU is the CPU time this process (the driver and its sink, not a
// ward it started) has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Driver signs in as the given accounts (each worker uses its own share).
type Driver struct {
	Target string
	// Targets, when set, are several instances of one ward: worker w
	// drives Targets[w % len], and moves to the next one that answers
	// when its instance stops answering (it was killed).
	Targets  []string
	Accounts []string
	Client   *http.Client
	// Sink receives ward's mail; nil: codes are read from ward's dev
	// mailbox over HTTP (no SMTP, no DKIM: not the complete path).
	Sink *Sink
	// CPU reports ward's CPU time so far (nil: not known).
	CPU func() (time.Duration, error)
	// Allocs reports ward's heap allocations so far (nil: not known):
	// unlike its CPU time, a count that this machine's speed, which
	// varies from one minute to the next, does not move.
	Allocs func() (int64, error)
	// Database names the processes of a database on this machine (such as
	// "postgres"), whose CPU time each level reports too.
	Database string
	// Trips counts the round trips to the database so far (nil: not
	// counted).
	Trips func() int64
	// Password, when set, is every account's password, and sign-ins use
	// it (with the code a new device is asked for, once).
	Password string

	// Each person signs in from their own device, as people do, kept
	// across runs: a device shared by every account, or a new one each
	// run, would make each sign-in a "new device" one with its notices.
	mu      sync.Mutex
	devices map[string]string
	down    map[string]bool
	// Started counts the sign-ins ward accepted (the start answered 200):
	// each owes one code mail.
	Started atomic.Int64
	// stages holds each completed sign-in's time in its parts (start,
	// code, verify), for the level that runs.
	stages [3][]time.Duration
}

func (dr *Driver) recordStages(t ...time.Time) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	for i := range dr.stages {
		dr.stages[i] = append(dr.stages[i], t[i+1].Sub(t[i]))
	}
}

// takeStages returns the stages' percentiles so far and starts anew.
// The stages are the answer to a sign-in's start; the wait for its code
// (the mail, or the dev mailbox); the answer to verify.
func (dr *Driver) takeStages() []Stage {
	stageNames := [3]string{"start", "code", "verify"}
	dr.mu.Lock()
	defer dr.mu.Unlock()
	var out []Stage
	for i, lat := range dr.stages {
		if len(lat) > 0 {
			out = append(out, Stage{Name: stageNames[i], P50: percentile(lat, 0.50), P99: percentile(lat, 0.99)})
		}
		dr.stages[i] = nil
	}
	return out
}

// percentile sorts lat and returns its p-th part (0 when empty).
func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

// target is the instance worker w drives now.
func (dr *Driver) target(w int) string {
	if len(dr.Targets) == 0 {
		return dr.Target
	}
	dr.mu.Lock()
	defer dr.mu.Unlock()
	for i := range dr.Targets {
		t := dr.Targets[(w+i)%len(dr.Targets)]
		if !dr.down[t] {
			return t
		}
	}
	return dr.Targets[w%len(dr.Targets)]
}

// markDown notes that target stopped answering.
func (dr *Driver) markDown(target string) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.down == nil {
		dr.down = map[string]bool{}
	}
	dr.down[target] = true
}

func (dr *Driver) device(email string) string {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	return dr.devices[email]
}

func (dr *Driver) keepDevice(email, device string) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.devices == nil {
		dr.devices = map[string]string{}
	}
	dr.devices[email] = device
}

// Run keeps concurrency workers signing in for d and reports.
func (dr *Driver) Run(ctx context.Context, concurrency int, d time.Duration) Report {
	var cpu0 time.Duration
	if dr.CPU != nil {
		cpu0, _ = dr.CPU()
	}
	self0 := selfCPU()
	var allocs0 int64
	if dr.Allocs != nil {
		allocs0, _ = dr.Allocs()
	}
	var trips0 int64
	if dr.Trips != nil {
		trips0 = dr.Trips()
	}
	dr.takeStages() // whatever came before this level
	var db0 map[int]time.Duration
	if dr.Database != "" {
		db0, _ = NamedCPU(dr.Database)
	}
	rep := measure(ctx, "sign-ins", concurrency, d, func(w int) func(ctx context.Context, i int) error {
		mine := dr.Accounts[w*len(dr.Accounts)/concurrency : (w+1)*len(dr.Accounts)/concurrency]
		return func(ctx context.Context, i int) error {
			email := mine[i%len(mine)]
			target := dr.target(w)
			device, _, err := dr.signIn(ctx, target, email, dr.device(email))
			dr.keepDevice(email, device)
			if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
				dr.markDown(target) // the instance is gone: go on with another
			}
			return err
		}
	})
	if dr.CPU != nil {
		if cpu1, err := dr.CPU(); err == nil {
			rep.CPU = cpu1 - cpu0
		}
	}
	rep.DriverCPU = selfCPU() - self0
	if dr.Allocs != nil {
		if allocs1, err := dr.Allocs(); err == nil && allocs0 > 0 {
			rep.Allocs = allocs1 - allocs0
		}
	}
	if dr.Trips != nil {
		rep.DatabaseTrips = dr.Trips() - trips0
	}
	if db0 != nil {
		if db1, err := NamedCPU(dr.Database); err == nil {
			rep.DatabaseCPU = spentSince(db0, db1)
		}
	}
	rep.Stages = dr.takeStages()
	if dr.Sink != nil {
		// Mail of sign-ins cut off at the deadline may still come: let
		// it, and forget it.
		time.Sleep(200 * time.Millisecond)
		dr.Sink.Drain()
		// A refused mail's sign-in waited out the level: count it here.
		for why, n := range dr.Sink.TakeRefused() {
			rep.Errors += n
			rep.Reasons[why] += n
		}
	}
	return rep
}

// Pages keeps concurrency workers loading path as the holder of a session
// token (a signed-in person reloading a page) for d and reports.
func (dr *Driver) Pages(ctx context.Context, path, token string, concurrency int, d time.Duration) Report {
	return measure(ctx, "pages", concurrency, d, func(int) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			req, err := http.NewRequestWithContext(ctx, "GET", dr.Target+path, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := dr.Client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
			}
			return nil
		}
	})
}

// SignIn signs email in once and returns the session token.
func (dr *Driver) SignIn(ctx context.Context, email string) (string, error) {
	_, tok, err := dr.signIn(ctx, dr.target(0), email, "")
	return tok, err
}

// measure runs concurrency workers, each made by work, for d.
func measure(ctx context.Context, what string, concurrency int, d time.Duration, work func(w int) func(ctx context.Context, i int) error) Report {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs, reasons := 0, map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		step := work(w)
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := step(ctx, i)
				el := time.Since(t0)
				if ctx.Err() != nil {
					return // cut off by the deadline: not a measured request
				}
				mu.Lock()
				if err != nil {
					errs++
					reasons[reason(err)]++
				} else {
					lat = append(lat, el)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep := Report{What: what, Concurrency: concurrency, SignIns: len(lat), Errors: errs, Reasons: reasons, Elapsed: time.Since(start)}
	rep.P50, rep.P95, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)
	return rep
}

func (dr *Driver) call(ctx context.Context, target, method, path, device string, in, out any) (string, error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target+path, body)
	if err != nil {
		return device, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ward-Session", "bearer") // an API client: the session token in the body
	if device != "" {
		req.Header.Set("X-Ward-Device", device)
	}
	resp, err := dr.Client.Do(req)
	if err != nil {
		return device, err
	}
	defer resp.Body.Close()
	if d := resp.Header.Get("X-Ward-Device"); d != "" {
		device = d
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return device, &apiError{what: method + " " + path, status: resp.StatusCode, code: e.Error, body: string(bytes.TrimSpace(b))}
	}
	return device, json.Unmarshal(b, out)
}

// signIn runs one complete passwordless sign-in.
func (dr *Driver) signIn(ctx context.Context, target, email, device string) (string, string, error) {
	var started struct {
		Flow string `json:"flow"`
	}
	var t [4]time.Time // start asked, answered, code read, verified
	t[0] = time.Now()
	if dr.Password != "" {
		var r struct {
			State string `json:"state"`
			Token string `json:"token"`
			Flow  string `json:"flow"`
		}
		device, err := dr.call(ctx, target, "POST", "/api/v1/sign-in/password", device, map[string]string{"email": email, "password": dr.Password}, &r)
		if err != nil || r.State == "signed_in" {
			return device, r.Token, err
		}
		started.Flow = r.Flow // a new device: a code follows
	} else {
		var err error
		device, err = dr.call(ctx, target, "POST", "/api/v1/sign-in/code", device, map[string]string{"email": email}, &started)
		if err != nil {
			return device, "", err
		}
	}
	dr.Started.Add(1)
	t[1] = time.Now()
	var err error
	var code string
	if dr.Sink != nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		code, err = dr.Sink.Code(wctx, email)
		cancel()
	} else {
		code, err = dr.awaitCode(ctx, target, started.Flow, device)
	}
	if err != nil {
		return device, "", err
	}
	t[2] = time.Now()
	var done struct {
		State string `json:"state"`
		Token string `json:"token"`
	}
	device, err = dr.call(ctx, target, "POST", "/api/v1/flows/verify", device, map[string]string{"flow": started.Flow, "code": code}, &done)
	var ae *apiError
	if dr.Sink != nil && errors.As(err, &ae) && ae.code == "wrong_code" {
		// The code was an earlier sign-in's, whose mail came late (that
		// sign-in was cut off): like a person, take the next mail.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		code, err = dr.Sink.Code(wctx, email)
		cancel()
		if err == nil {
			device, err = dr.call(ctx, target, "POST", "/api/v1/flows/verify", device, map[string]string{"flow": started.Flow, "code": code}, &done)
		}
	}
	if err != nil {
		return device, "", err
	}
	if done.State != "signed_in" || done.Token == "" {
		return device, "", fmt.Errorf("verify answered %q", done.State)
	}
	t[3] = time.Now()
	dr.recordStages(t[:]...)
	return device, done.Token, nil
}

// awaitCode reads the code mailed for the sign-in flow: ward answers first
// and writes the mail right after, and the driver waits for it as a
// person would.
func (dr *Driver) awaitCode(ctx context.Context, target, flow, device string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var mail struct {
		Messages []struct {
			Code string `json:"code"`
		} `json:"messages"`
	}
	// ward holds each request until the flow's mail is queued, or 2 s.
	for {
		if _, err := dr.call(ctx, target, "GET", "/dev/mail.json?limit=1&wait=2s&flow="+url.QueryEscape(flow), device, nil, &mail); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("no code mail for flow %s… within 10 s", flow[:8])
			}
			return "", err
		}
		if len(mail.Messages) > 0 && mail.Messages[0].Code != "" {
			return mail.Messages[0].Code, nil
		}
		select { // a message without a code (expired on the way): look again shortly
		case <-ctx.Done():
			return "", fmt.Errorf("no code mail for flow %s… within 10 s", flow[:8])
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// CreateAccounts makes n accounts through the admin API (passwordless
// when password is empty), or reuses them when they exist, and returns
// their emails.
func CreateAccounts(ctx context.Context, hc *http.Client, target, adminToken, password string, n int) ([]string, error) {
	emails := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("load-%05d@loadtest.example", i)
		in := map[string]string{"email": emails[i], "language": "en"}
		if password != "" {
			in["password"] = password
		}
		b, _ := json.Marshal(in)
		req, err := http.NewRequestWithContext(ctx, "POST", target+"/api/v1/admin/accounts", bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("creating load-test accounts: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return nil, fmt.Errorf("creating load-test accounts: admin API answered %d (is --admin-token right?)", resp.StatusCode)
		}
	}
	return emails, nil
}

// apiError is ward's answer to a request that did not succeed.
type apiError struct {
	what   string
	status int
	code   string
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %d %s", e.what, e.status, e.body) }

// reason names an error for the report without what differs every time
// (flows, addresses), so that equal causes are counted together.
func reason(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		path, _, _ := strings.Cut(ae.what, "?")
		return fmt.Sprintf("%s: %d %s", path, ae.status, ae.code)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		path, _, _ := strings.Cut(strings.TrimPrefix(ue.URL, "http://"), "?")
		if _, p, ok := strings.Cut(path, "/"); ok {
			path = "/" + p
		}
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return ue.Op + " " + path + ": connection refused (instance down)"
		case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return ue.Op + " " + path + ": connection lost before the answer (instance killed)"
		}
	}
	s := err.Error()
	if i := strings.Index(s, " to "); i > 0 && strings.Contains(s, "SMTP sink") {
		return "no code mail reached the SMTP sink within 10 s"
	}
	if strings.HasPrefix(s, "no code mail for flow") {
		return "no code mail in the dev mailbox within 10 s"
	}
	return s
}
