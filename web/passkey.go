package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/store"
)

// Passkeys over the JSON API. Pages use the same endpoints from ward.js:
// WebAuthn needs the browser's navigator.credentials, so passkeys are the
// one part of ward that needs JavaScript; every page still works without.

func (s *Server) routePasskeys(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/account/passkeys/begin", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.writeCeremony(w, r)(s.Flow.BeginPasskeyRegistration(r.Context(), s.client(r), sess))
	}))
	mux.HandleFunc("POST /api/v1/account/passkeys", s.signedIn(s.apiAddPasskey))
	mux.HandleFunc("PATCH /api/v1/account/passkeys/{id}", s.signedIn(s.apiRenamePasskey))
	mux.HandleFunc("DELETE /api/v1/account/passkeys/{id}", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.answerChange(w, r, sess, s.Flow.RemovePasskey(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /account/passkeys/{id}/rename", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.securityChanged(w, r, sess, s.Flow.RenamePasskey(r.Context(), s.client(r), sess, r.PathValue("id"), r.PostFormValue("name")))
	}))
	mux.HandleFunc("POST /account/passkeys/{id}/remove", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.securityChanged(w, r, sess, s.Flow.RemovePasskey(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /api/v1/sign-in/passkey/begin", func(w http.ResponseWriter, r *http.Request) {
		s.writeCeremony(w, r)(s.Flow.BeginPasskeySignIn(r.Context(), s.client(r)))
	})
	mux.HandleFunc("POST /api/v1/sign-in/passkey", jsonStep(s, func(r *http.Request, c flow.Client, in passkeyIn) (*flow.Result, error) {
		return s.Flow.FinishPasskeySignIn(r.Context(), c, in.Ceremony, in.Credential)
	}))
	mux.HandleFunc("POST /api/v1/flows/second-step/passkey/begin", func(w http.ResponseWriter, r *http.Request) {
		var in passkeyIn
		if !decode(s, w, r, &in) {
			return
		}
		s.writeCeremony(w, r)(s.Flow.BeginSecondStepPasskey(r.Context(), s.client(r), s.flowToken(r, in.Flow)))
	})
	mux.HandleFunc("POST /api/v1/flows/second-step/passkey", jsonStep(s, func(r *http.Request, c flow.Client, in passkeyIn) (*flow.Result, error) {
		return s.Flow.SecondStepPasskey(r.Context(), c, s.flowToken(r, in.Flow), in.Ceremony, in.Credential)
	}))
	mux.HandleFunc("POST /api/v1/account/step-up/passkey/begin", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.writeCeremony(w, r)(s.Flow.BeginPasskeyStepUp(r.Context(), s.client(r), sess))
	}))
	mux.HandleFunc("POST /api/v1/account/step-up/passkey", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		var in passkeyIn
		if !decode(s, w, r, &in) {
			return
		}
		iss, err := s.Flow.FinishPasskeyStepUp(r.Context(), s.client(r), sess, in.Ceremony, in.Credential)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeResult(w, r, &flow.Result{Session: iss, State: flow.StateConfirmed})
	}))
}

// passkeyIn is a browser's answer to a ceremony: the ceremony's token and
// the credential as PublicKeyCredential.toJSON() gives it.
type passkeyIn struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
	// Flow is the held sign-in of a second step; pages leave it out and
	// the flow cookie names it.
	Flow string `json:"flow"`
}

// flowToken is the flow a request names in its body, else its cookie's.
func (s *Server) flowToken(r *http.Request, given string) string {
	if given != "" {
		return given
	}
	return s.cookie(r, "ward_flow")
}

type ceremonyJSON struct {
	Ceremony  string          `json:"ceremony"`
	Options   json.RawMessage `json:"options"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// writeCeremony answers a begun ceremony with what the browser needs.
func (s *Server) writeCeremony(w http.ResponseWriter, r *http.Request) func(*flow.PasskeyCeremony, error) {
	return func(c *flow.PasskeyCeremony, err error) {
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ceremonyJSON{Ceremony: c.Token, Options: c.Options, ExpiresAt: c.ExpiresAt})
	}
}

type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Synced: backed up to the person's account with a platform or a
	// password manager, so it is on their other devices too.
	Synced   bool `json:"synced"`
	Syncable bool `json:"syncable"`
}

func toPasskeyJSON(p passkey.Passkey) passkeyJSON {
	return passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, Synced: p.BackedUp, Syncable: p.BackupEligible}
}

func (s *Server) apiAddPasskey(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in passkeyIn
	if !decode(s, w, r, &in) {
		return
	}
	p, err := s.Flow.FinishPasskeyRegistration(r.Context(), s.client(r), sess, in.Ceremony, in.Name, in.Credential)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toPasskeyJSON(p))
}

func (s *Server) apiRenamePasskey(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in passkeyIn
	if !decode(s, w, r, &in) {
		return
	}
	s.answerChange(w, r, sess, s.Flow.RenamePasskey(r.Context(), s.client(r), sess, r.PathValue("id"), in.Name))
}
