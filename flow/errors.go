package flow

import (
	"fmt"
	"time"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/store"
)

// Error codes a client can act on.
const (
	ErrInvalidInput     = "invalid_input"
	ErrFlowInvalid      = "flow_invalid"
	ErrFlowExpired      = "flow_expired"
	ErrCodeExpired      = "code_expired"
	ErrWrongCode        = "wrong_code"
	ErrTooManyAttempts  = "too_many_attempts"
	ErrFactorLocked     = "factor_locked"
	ErrFactorDisabled   = "factor_disabled"
	ErrRateLimited      = "rate_limited"
	ErrWrongCredentials = "wrong_credentials"
	ErrAccountDisabled  = "account_disabled"
	ErrBlocked          = "blocked"
	ErrLinkInvalid      = "link_invalid"
	// ErrStepUpRequired: the change needs a fresh proof that it is the
	// owner (a code to the account's email) first.
	ErrStepUpRequired = "step_up_required"
	// ErrStrongerProof: the account has a second factor, and the change
	// needs a session proven with two (StepUp with the password and an
	// authenticator app's code); an email code is not enough.
	ErrStrongerProof = "stronger_proof_required"
	// ErrNotReady: two-step verification needs a second method set up
	// first, or the last one cannot go while it is on.
	ErrNotReady = "second_factor_required"
	// ErrAnswerRefused: an authenticator's answer that proves nothing
	// (not signed by the device, for another prompt, replayed, late).
	ErrAnswerRefused = "answer_refused"
)

// Error is a refusal the person can act on. Message is safe to show;
// Key and Args, when set, say it in any language ward speaks.
type Error struct {
	Code         string
	Message      string
	Key          string
	Args         []any
	Field        string
	AttemptsLeft *int
	RetryAt      time.Time
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// invalid refuses bad input with the catalog's sentence key.
func invalid(key string, a ...any) *Error {
	return &Error{Code: ErrInvalidInput, Key: key, Args: a, Message: catalog.Format("en", key, a...)}
}

func retryLater(code string, at time.Time, format string, a ...any) *Error {
	e := fail(code, format, a...)
	e.RetryAt = at.UTC()
	return e
}

// afterFailure is the answer to a wrong password or code once its failure
// is counted (fc): the factor off, or e with the time the factor rests
// until, if it does.
func afterFailure(fc store.FailureCounter, e *Error) *Error {
	if fc.DisabledAt != nil {
		return errFactorDisabled()
	}
	if fc.LockedUntil != nil {
		e.RetryAt = *fc.LockedUntil
	}
	return e
}

// errFactorDisabled is the answer while a factor is off for this client:
// it is off only for devices that never signed in to the account, so the
// owner's own device, and a reset, still work.
func errFactorDisabled() *Error {
	return fail(ErrFactorDisabled, "after too many wrong tries this sign-in method is turned off on devices that have not signed in here before; "+
		"sign in on a device you have used before, or reset your password (a code to your email or another recovery contact) to turn it back on")
}

func errStrongerProof() *Error {
	return fail(ErrStrongerProof, "confirm it is you with your password and your authenticator app first")
}
