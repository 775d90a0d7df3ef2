package web

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/totp"
)

// ward Authenticator's API: pairing from the dashboard, the device's own
// calls (its prompts, its signed answers), and the sign-in page asking
// for an approval and waiting for it. A device authenticates its reads
// with "Authorization: Device <token>"; its answers are signed besides.

func (s *Server) routeAuthenticator(mux *http.ServeMux) {
	mux.HandleFunc("GET /authenticator", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/authenticator/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /authenticator/{$}", func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "authenticator")
		v.Manifest = true
		s.render(w, r, http.StatusOK, "authenticator", v)
	})
	mux.HandleFunc("GET /authenticator/sw.js", func(w http.ResponseWriter, r *http.Request) {
		b, err := assets.ReadFile("static/sw.js")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(b)
	})
	mux.HandleFunc("GET /authenticator/manifest.webmanifest", func(w http.ResponseWriter, r *http.Request) {
		lang := s.language(r, "")
		w.Header().Set("Content-Type", "application/manifest+json")
		json.NewEncoder(w).Encode(map[string]any{"name": "ward Authenticator", "short_name": "Authenticator", "lang": lang,
			"start_url": "/authenticator/", "scope": "/authenticator/", "display": "standalone", "background_color": "#ffffff",
			"theme_color": "#0b57d0", "description": tr(lang, "auth_manifest_description"),
			"icons": []map[string]string{{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}}})
	})
	mux.HandleFunc("POST /api/v1/account/authenticator-pairing", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		var in factorIn
		if !decode(s, w, r, &in) {
			return
		}
		p, err := s.Flow.StartPairing(r.Context(), s.client(r), sess, in.Name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"code": p.Code, "expires_at": p.ExpiresAt,
			"link": strings.TrimRight(s.PublicURL, "/") + "/authenticator/#pair=" + p.Code})
	}))
	mux.HandleFunc("DELETE /api/v1/account/paired-authenticators/{id}", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.answerChange(w, r, sess, s.Flow.RemovePairedDevice(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /account/authenticator-pairing", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		p, err := s.Flow.StartPairing(r.Context(), s.client(r), sess, r.PostFormValue("name"))
		if s.needsStepUp(w, r, sess, err) {
			return
		}
		if err != nil {
			s.accountError(w, r, sess, err)
			return
		}
		link := strings.TrimRight(s.PublicURL, "/") + "/authenticator/#pair=" + p.Code
		png, err := totp.QR(link)
		if err != nil {
			s.afterAction(w, r, err)
			return
		}
		v := s.view(r, "pairing")
		v.Pairing = &pairingView{Code: p.Code[:4] + " " + p.Code[4:], Link: link, QRURI: template.URL(qrDataURI(png)), ExpiresAt: p.ExpiresAt}
		w.Header().Set("Content-Security-Policy", contentPolicy("'self' data:"))
		s.render(w, r, http.StatusOK, "pairing", v)
	}))
	mux.HandleFunc("POST /account/paired-authenticators/{id}/remove", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.securityChanged(w, r, sess, s.Flow.RemovePairedDevice(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /api/v1/authenticator/pair", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Code      string `json:"code"`
			PublicKey string `json:"public_key"`
		}
		if !decode(s, w, r, &in) {
			return
		}
		key, err := base64.RawURLEncoding.DecodeString(in.PublicKey)
		if err != nil {
			s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "public_key", "public_key is the raw P-256 key, base64url"))
			return
		}
		p, err := s.Flow.Pair(r.Context(), s.client(r), in.Code, key)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"device_id": p.DeviceID, "device_token": p.Token})
	})
	mux.HandleFunc("GET /api/v1/authenticator/prompts", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.Flow.DevicePrompts(r.Context(), deviceToken(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, p := range list {
			out = append(out, map[string]any{"id": p.ID, "nonce": p.Nonce, "context": p.Context, "expires_at": p.ExpiresAt})
		}
		writeJSON(w, http.StatusOK, map[string]any{"prompts": out})
	})
	mux.HandleFunc("POST /api/v1/authenticator/answer", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Payload   string `json:"payload"`
			Signature string `json:"signature"`
		}
		if !decode(s, w, r, &in) {
			return
		}
		payload, err1 := base64.RawURLEncoding.DecodeString(in.Payload)
		sig, err2 := base64.RawURLEncoding.DecodeString(in.Signature)
		if err1 != nil || err2 != nil {
			s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "payload", "payload and signature are base64url"))
			return
		}
		state, err := s.Flow.AnswerPrompt(r.Context(), s.client(r), deviceToken(r), payload, sig)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"state": state})
	})
	mux.HandleFunc("POST /api/v1/flows/second-step/push", func(w http.ResponseWriter, r *http.Request) {
		var in flowIn
		if !decode(s, w, r, &in) {
			return
		}
		p, err := s.Flow.BeginPush(r.Context(), s.client(r), s.flowToken(r, in.Flow))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, pushJSON{State: p.State, Number: p.Number, ExpiresAt: p.ExpiresAt})
	})
	mux.HandleFunc("POST /api/v1/flows/second-step/push/status", jsonStep(s, func(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
		return s.Flow.PushStatus(r.Context(), c, s.flowToken(r, in.Flow))
	}))
}

// pairingView is the page that pairs a phone: its code, its link as a QR
// code, and until when.
type pairingView struct {
	Code, Link string
	QRURI      template.URL
	ExpiresAt  time.Time
}

// pushJSON is an approval request as the sign-in page shows it.
type pushJSON struct {
	State     string    `json:"state"`
	Number    string    `json:"number"`
	ExpiresAt time.Time `json:"expires_at"`
}

// deviceToken is the token a paired authenticator sends.
func deviceToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Device ") {
		return strings.TrimPrefix(h, "Device ")
	}
	return ""
}
