package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
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
		"exists", "cross_origin", "internal", "client_closed", "not_found", "too_large", "unauthenticated"} {
		if !catalog.Has("err_" + code) {
			t.Errorf("refusal %s has no sentence (err_%s) in the catalog", code, code)
		}
	}
}

// A client that hangs up mid-request is not a failure of ward's: no
// error is logged and the status is 499, not 500, so alerts on server
// errors stay quiet. An error with a live client stays a 500 and is logged.
func TestAbandonedRequestIsNoServerError(t *testing.T) {
	var logged bytes.Buffer
	s := &Server{Log: slog.New(slog.NewJSONHandler(&logged, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/flows/verify", nil)
	if rf := s.refusalOf(r, fmt.Errorf("reading device: %w", context.Canceled)); rf.status != 499 || rf.Code != "client_closed" {
		t.Fatalf("abandoned request answered %d %s", rf.status, rf.Code)
	}
	if strings.Contains(logged.String(), `"level":"ERROR"`) {
		t.Fatalf("an abandoned request was logged as an error: %s", logged.String())
	}
	live := httptest.NewRequest("POST", "/api/v1/flows/verify", nil)
	if rf := s.refusalOf(live, fmt.Errorf("reading device: %w", context.Canceled)); rf.status != 500 {
		t.Fatalf("a cancelled query under a live client answered %d", rf.status)
	}
	if !strings.Contains(logged.String(), `"level":"ERROR"`) {
		t.Fatal("a failure under a live client was not logged")
	}
}
