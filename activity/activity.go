// Package activity names the events of the append-only activity log and
// records them. Nothing secret (codes, passwords, tokens) is ever recorded.
package activity

import (
	"context"
	"time"

	"github.com/wardhq/ward/store"
)

// Event kinds.
const (
	SignIn          = "sign_in"
	CodeSent        = "code_sent"
	CodeFailed      = "code_failed"
	PasswordChanged = "password_changed"
	PasswordReset   = "password_reset"
	SessionEnded    = "session_ended"
	FactorDisabled  = "factor_disabled"
	FactorEnabled   = "factor_enabled"
	ContactRemoved  = "contact_removed"
	ContactAdded    = "contact_added"
	// ContactConfirmed: a new contact confirmed for recovery from an existing one.
	ContactConfirmed = "contact_confirmed"
	NotMineReported  = "not_mine_reported"
	// UnsolicitedReported: "this wasn't me" on a code mail.
	UnsolicitedReported = "unsolicited_reported"
	AliasChanged        = "alias_changed"
	// Confirmed: "this was me" on an activity row.
	Confirmed            = "activity_confirmed"
	AccountSecured       = "account_secured"
	NotificationsChanged = "notifications_changed"
	// FactorAdded and FactorRemoved: a sign-in method (an authenticator
	// app, a passkey) joined or left the account; Method names its kind.
	FactorAdded   = "factor_added"
	FactorRemoved = "factor_removed"
	TwoStepOn     = "two_step_on"
	TwoStepOff    = "two_step_off"
	// RecoveryCodesMade: a new set, voiding the old one.
	RecoveryCodesMade = "recovery_codes_made"
	// SteppedUp: a signed-in session proved its owner again.
	SteppedUp = "stepped_up"
	// AppSignIn: the person was signed in to an app (OpenID Connect);
	// Reasons name it and Ref is its client ID.
	AppSignIn = "app_sign_in"
	// PromptSent and PromptAnswered: an approval prompt to a paired
	// authenticator, and its answer (Result says which).
	PromptSent     = "prompt_sent"
	PromptAnswered = "prompt_answered"
	// AppConsented: the person allowed a third-party app what it asked.
	AppConsented = "app_consented"
	// AppRevoked: the person took an app's access away.
	AppRevoked = "app_revoked"
)

// Results.
const (
	Success         = "success"
	WrongPassword   = "wrong_password"
	WrongCode       = "wrong_code"
	Blocked         = "blocked"
	Sent            = "sent"
	StepUpRequired  = "step_up_required"
	Locked          = "locked"
	AccountDisabled = "account_disabled"
	// Suppressed: a code asked for from a source its recipient reported.
	Suppressed = "suppressed"
	// Held: a code not sent because the address had its day's share.
	Held = "held"
	// SecondStepRequired: the password was right and two-step
	// verification asks for a second proof.
	SecondStepRequired = "second_step_required"
)

// Record appends e to the log inside the caller's transaction, stamping
// its ID and time.
func Record(ctx context.Context, q store.Queries, at time.Time, e store.Event) error {
	e.ID = store.NewID()
	e.At = at.UTC()
	return q.AppendEvent(ctx, e)
}
