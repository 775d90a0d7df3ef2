// Package assurance says how strongly a sign-in was proven: the factors
// it used, their RFC 8176 authentication method references (amr) and the
// NIST SP 800-63B-4 authenticator assurance level they reach.
//
// A session keeps its factors in its method, joined by "+"
// ("password+totp"), so that sessions opened before this package existed
// read the same way.
package assurance

import (
	"slices"
	"strings"
)

// Factors ward knows. They are also the names its failure counters and
// activity log use.
const (
	Password  = "password"
	EmailCode = "email_code"
	SMSCode   = "sms_code"
	TOTP      = "totp"
	// Passkey is a passkey that verified its user (PIN or biometrics): a
	// multi-factor cryptographic authenticator on its own.
	Passkey = "passkey"
	// SecurityKey is a passkey used without verifying its user: it proves
	// possession only, like an authenticator app.
	SecurityKey = "security_key"
	// Push is an approval on a paired ward Authenticator with number
	// matching: a software key on the person's phone.
	Push         = "push"
	RecoveryCode = "recovery_code"
)

// Levels (NIST authenticator assurance levels). A session below AAL1
// (an email code alone) proved only that someone read the mail.
const (
	AAL0 = 0
	AAL1 = 1
	AAL2 = 2
)

// Factors reads a session's method.
func Factors(method string) []string {
	if method == "" {
		return nil
	}
	return strings.Split(method, "+")
}

// Method joins factors into a session's method, each once, in the order
// they were proven.
func Method(factors ...string) string {
	var out []string
	for _, f := range factors {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return strings.Join(out, "+")
}

// With adds factors to a session's method.
func With(method string, factors ...string) string {
	return Method(append(Factors(method), factors...)...)
}

// Level is the assurance level the factors reach. NIST does not count an
// email code as an authenticator at all; SMS is a restricted one but still
// "something you have"; a recovery code leads to the lowest level, because
// it is the way in for someone who lost everything else.
func Level(factors []string) int {
	var know, have, counted bool
	for _, f := range factors {
		switch f {
		case Passkey:
			return AAL2
		case Password:
			know, counted = true, true
		case TOTP, SMSCode, SecurityKey, Push:
			have, counted = true, true
		case RecoveryCode:
			return AAL1
		}
	}
	switch {
	case know && have:
		return AAL2
	case counted:
		return AAL1
	}
	return AAL0
}

// AMR lists the RFC 8176 method references of the factors, with "mfa"
// when they reach AAL2. An email code has no registered value; ward names
// it "email" (RFC 8176 allows values outside its registry) so that an app
// can tell it from an authenticator app's code ("otp").
func AMR(factors []string) []string {
	var out []string
	add := func(v ...string) {
		for _, x := range v {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	for _, f := range factors {
		switch f {
		case Password:
			add("pwd")
		case EmailCode:
			add("email")
		case SMSCode:
			add("sms")
		case TOTP:
			add("otp")
		case Passkey:
			add("hwk", "user")
		case SecurityKey:
			add("hwk")
		case Push:
			add("swk")
		case RecoveryCode:
			add("recovery")
		}
	}
	if Level(factors) >= AAL2 {
		add("mfa")
	}
	return out
}

// Second reports whether a factor is one two-step verification accepts
// after a password: something the person has, not an email code.
func Second(factor string) bool {
	return factor == TOTP || factor == Passkey || factor == SecurityKey || factor == SMSCode || factor == Push
}
