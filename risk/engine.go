// Package risk decides, for each sign-in with a right password, whether to
// let it through, ask for a code, or block it, and says why. Every reason
// is a short code with its evidence ("new_country:US",
// "impossible_travel:Tokyo:Frankfurt:40"); the activity log keeps them and
// the pages say them in the reader's language.
package risk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wardhq/ward/store"
)

// Reason codes.
const (
	NewDevice        = "new_device"
	NewIP            = "new_ip"      // only when no geo data can say more
	NewCountry       = "new_country" // :CC
	NewNetwork       = "new_network" // :AS<n>
	ImpossibleTravel = "impossible_travel"
	Anonymizer       = "anonymizer"       // :label
	IPManyAccounts   = "ip_many_accounts" // :n
	IPFailures       = "ip_failures"      // :n
	AccountFailures  = "account_failures" // :n
)

// Attempt is what the engine sees of a sign-in whose password was right.
type Attempt struct {
	AccountID   string
	IP          string
	KnownDevice bool
	KnownIP     bool
}

// Decision is the answer, with reasons for the log.
type Decision struct {
	StepUp  bool
	Block   bool
	Reasons []string
}

// Code is a reason's code without its evidence.
func Code(reason string) string {
	c, _, _ := strings.Cut(reason, ":")
	return c
}

// Has reports whether reasons include code.
func Has(reasons []string, code string) bool {
	return slices.ContainsFunc(reasons, func(r string) bool { return Code(r) == code })
}

// Policy says which reasons ask for a code and which block.
type Policy struct {
	StepUp []string
	Block  []string
	// Window is how far back velocities look; the thresholds count within it.
	Window            time.Duration
	StuffingAccounts  int // distinct accounts one IP tried
	IPFailureLimit    int
	AccountFailLimit  int
	TravelSpeedKmH    float64
	TravelMinDistance float64
}

// History is what the engine reads from the store.
type History interface {
	SignIns(ctx context.Context, accountID string, limit int) ([]store.Event, error)
	IPActivity(ctx context.Context, ip, exceptAccount string, since time.Time, last int) (store.IPActivity, error)
	AccountFailures(ctx context.Context, accountID string, since time.Time) (int, error)
}

// Engine assesses sign-ins.
type Engine struct {
	History  History
	Geo      *Geo
	Networks *Networks
	Policy   Policy
	Now      func() time.Time
}

// historyDepth is how many past sign-ins describe an account's habits.
const historyDepth = 50

// IPHistory is how many of an IP's newest sign-in attempts in the window
// the IP's signals count in, so that their cost does not grow with a
// busy network's traffic (an office behind one address, or an attacker
// the limits let through). An attack is the newest attempts: to hide
// 20 failures in 1,000, it would have to succeed 980 times.
const IPHistory = 1000

// Assess implements flow's risk check.
func (e *Engine) Assess(ctx context.Context, a Attempt) (Decision, error) {
	now := e.Now()
	since := now.Add(-e.Policy.Window)
	// Three independent reads, run side by side: on PostgreSQL each is a
	// round trip, and a sign-in should wait for one, not three.
	var (
		past  []store.Event
		act   store.IPActivity
		fails int
		errs  [3]error
		wg    sync.WaitGroup
	)
	wg.Go(func() { past, errs[0] = e.History.SignIns(ctx, a.AccountID, historyDepth) })
	wg.Go(func() { act, errs[1] = e.History.IPActivity(ctx, a.IP, a.AccountID, since, IPHistory) })
	wg.Go(func() { fails, errs[2] = e.History.AccountFailures(ctx, a.AccountID, since) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return Decision{}, fmt.Errorf("reading sign-in history: %w", err)
	}
	var reasons []string
	if !a.KnownDevice {
		reasons = append(reasons, NewDevice)
	}
	here := e.Geo.Lookup(a.IP)
	if !a.KnownIP && len(past) > 0 {
		reasons = append(reasons, e.newPlace(here, past)...)
	}
	if len(past) > 0 {
		if r := e.travel(here, past[0], now); r != "" {
			reasons = append(reasons, r)
		}
	}
	if label, ok := e.Networks.Match(a.IP); ok {
		reasons = append(reasons, Anonymizer+":"+label)
	}
	others := act.Accounts
	if e.Policy.StuffingAccounts > 0 && others >= e.Policy.StuffingAccounts {
		reasons = append(reasons, fmt.Sprintf("%s:%d", IPManyAccounts, others))
	}
	if e.Policy.IPFailureLimit > 0 && act.Failures >= e.Policy.IPFailureLimit {
		reasons = append(reasons, fmt.Sprintf("%s:%d", IPFailures, act.Failures))
	}
	if e.Policy.AccountFailLimit > 0 && fails >= e.Policy.AccountFailLimit {
		reasons = append(reasons, fmt.Sprintf("%s:%d", AccountFailures, fails))
	}
	d := Decision{Reasons: reasons}
	for _, r := range reasons {
		switch c := Code(r); {
		case slices.Contains(e.Policy.Block, c):
			d.Block = true
		case slices.Contains(e.Policy.StepUp, c):
			d.StepUp = true
		}
	}
	return d, nil
}

// newPlace says what is new about a sign-in from an IP the account has
// not signed in from: its country, its network, or, when geo data cannot
// tell, just the IP.
func (e *Engine) newPlace(here Place, past []store.Event) []string {
	if !here.Known() {
		return []string{NewIP}
	}
	countries, networks, seen := map[string]bool{}, map[uint]bool{}, map[string]bool{}
	for _, ev := range past {
		if seen[ev.IP] {
			continue
		}
		seen[ev.IP] = true
		p := e.Geo.Lookup(ev.IP)
		countries[p.Country] = true
		networks[p.ASN] = true
	}
	var out []string
	if here.Country != "" && !countries[here.Country] {
		out = append(out, NewCountry+":"+here.Country)
	}
	if here.ASN != 0 && !networks[here.ASN] {
		out = append(out, fmt.Sprintf("%s:AS%d", NewNetwork, here.ASN))
	}
	return out
}

// travel finds a sign-in too far from the last one for the time between.
func (e *Engine) travel(here Place, last store.Event, now time.Time) string {
	there := e.Geo.Lookup(last.IP)
	if !here.HasLocation || !there.HasLocation {
		return ""
	}
	km := distanceKm(there.Lat, there.Lon, here.Lat, here.Lon)
	hours := now.Sub(last.At).Hours()
	if km < e.Policy.TravelMinDistance || hours > 0 && km/hours <= e.Policy.TravelSpeedKmH {
		return ""
	}
	return fmt.Sprintf("%s:%s:%s:%d", ImpossibleTravel, there.Short(), here.Short(), int(math.Round(now.Sub(last.At).Minutes())))
}

// distanceKm is the great-circle distance (haversine).
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}
