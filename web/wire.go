package web

import (
	"time"

	"github.com/wardhq/ward/flow"
)

// The JSON shapes of the API's answers. flow returns plain values; what a
// client sees, and under which names, is decided here.

// pendingJSON is the answer while a code is on its way.
type pendingJSON struct {
	State        string    `json:"state"`
	Flow         string    `json:"flow"`
	Kind         string    `json:"kind"`
	Channel      string    `json:"channel"`
	Destination  string    `json:"destination"`
	ExpiresAt    time.Time `json:"expires_at"`
	ResendAfter  time.Time `json:"resend_after"`
	Reasons      []string  `json:"reasons,omitempty"`
	CodeVerified bool      `json:"code_verified,omitempty"`
	// Methods answer a sign-in held for its second step (state
	// "second_step"): "totp", "recovery_code".
	Methods []string `json:"methods,omitempty"`
}

func toPendingJSON(p *flow.Pending) pendingJSON {
	out := pendingJSON{State: "code_sent", Flow: p.Token, Kind: p.Kind, Channel: p.Channel, Destination: p.Destination, ExpiresAt: p.ExpiresAt,
		ResendAfter: p.ResendAfter, Reasons: p.Reasons, CodeVerified: p.CodeVerified}
	if p.SecondStep {
		out.State, out.Methods, out.ResendAfter = flow.StateSecondStep, p.Methods, time.Time{}
	}
	return out
}

type deliveryJSON struct {
	Status       string            `json:"status"`
	Channel      string            `json:"channel"`
	Destination  string            `json:"destination"`
	At           time.Time         `json:"at"`
	Detail       string            `json:"detail,omitempty"`
	NextTryAt    time.Time         `json:"next_try_at,omitzero"`
	Alternatives []alternativeJSON `json:"alternatives,omitempty"`
}

type alternativeJSON struct {
	ID          string `json:"id"`
	Channel     string `json:"channel"`
	Destination string `json:"destination"`
}

func toDeliveryJSON(d *flow.Delivery) deliveryJSON {
	out := deliveryJSON{Status: d.Status, Channel: d.Channel, Destination: d.Destination, At: d.At, Detail: d.Detail, NextTryAt: d.NextTryAt}
	for _, a := range d.Alternatives {
		out.Alternatives = append(out.Alternatives, alternativeJSON{ID: a.ID, Channel: a.Channel, Destination: a.Destination})
	}
	return out
}

// unsolicitedJSON describes a "this wasn't me" link: who asked for the code.
type unsolicitedJSON struct {
	At          time.Time `json:"at"`
	IP          string    `json:"ip"`
	Place       string    `json:"place,omitempty"`
	Device      string    `json:"device,omitempty"`
	Destination string    `json:"destination"`
	Until       time.Time `json:"suppressed_until,omitzero"`
}

func toUnsolicitedJSON(u flow.UnsolicitedReport) unsolicitedJSON {
	return unsolicitedJSON{At: u.At, IP: u.IP, Place: u.Place, Device: u.Device, Destination: u.Destination, Until: u.Until}
}

type aliasJSON struct {
	Alias     string `json:"alias"`
	AliasOnly bool   `json:"alias_only"`
}

func toAliasJSON(a flow.Alias) aliasJSON { return aliasJSON{Alias: a.Alias, AliasOnly: a.AliasOnly} }
