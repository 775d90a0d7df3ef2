package web

import (
	"testing"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
)

// Every refusal, flow's and web's own, has a sentence in the catalog, so
// the API and the pages say it in the reader's language.
func TestEveryRefusalHasASentence(t *testing.T) {
	for _, code := range []string{flow.ErrInvalidInput, flow.ErrFlowInvalid, flow.ErrFlowExpired, flow.ErrCodeExpired, flow.ErrWrongCode,
		flow.ErrTooManyAttempts, flow.ErrFactorLocked, flow.ErrFactorDisabled, flow.ErrRateLimited, flow.ErrWrongCredentials,
		flow.ErrAccountDisabled, flow.ErrBlocked, flow.ErrLinkInvalid, flow.ErrStepUpRequired,
		flow.ErrStrongerProof, flow.ErrNotReady, flow.ErrPasskeyRefused, flow.ErrAnswerRefused,
		"exists", "cross_origin", "internal", "not_found", "too_large", "unauthenticated"} {
		if !catalog.Has("err_" + code) {
			t.Errorf("refusal %s has no sentence (err_%s) in the catalog", code, code)
		}
	}
}
