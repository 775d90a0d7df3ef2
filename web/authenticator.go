package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wardhq/ward/authenticator"
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
		writeJSON(w, http.StatusCreated, map[string]string{"device_id": p.DeviceID, "device_token": p.Token,
			"totp_secret": base64.RawURLEncoding.EncodeToString(p.TOTPSecret)})
	})
	mux.HandleFunc("GET /api/v1/authenticator/vapid", func(w http.ResponseWriter, r *http.Request) {
		if s.Flow.Pusher == nil {
			s.writeError(w, r, refuse(http.StatusNotFound, "not_found", "", "push messages are not available on this service"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"public_key": s.Flow.Pusher.PublicKey()})
	})
	mux.HandleFunc("PUT /api/v1/authenticator/subscription", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Endpoint string `json:"endpoint"`
			Keys     struct {
				P256dh string `json:"p256dh"`
				Auth   string `json:"auth"`
			} `json:"keys"`
		}
		if !decode(s, w, r, &in) {
			return
		}
		if err := s.Flow.SetPush(r.Context(), deviceToken(r), authenticator.Subscription{Endpoint: in.Endpoint, P256dh: in.Keys.P256dh,
			Auth: in.Keys.Auth}); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"state": "subscribed"})
	})
	mux.HandleFunc("GET /api/v1/authenticator/prompts", func(w http.ResponseWriter, r *http.Request) {
		out, err := s.devicePrompts(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"prompts": out})
	})
	mux.HandleFunc("GET /api/v1/authenticator/events", s.deviceEvents)
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
		s.answered.signal() // the pages waiting here look at once
		writeJSON(w, http.StatusOK, map[string]string{"state": state})
	})
	mux.HandleFunc("POST /api/v1/flows/second-step/push", func(w http.ResponseWriter, r *http.Request) {
		var in flowIn
		if !decode(s, w, r, &in) {
			return
		}
		p, err := s.Flow.BeginPush(r.Context(), s.appClient(r), s.flowToken(r, in.Flow))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.rung.signal() // open authenticators hear of it at once
		writeJSON(w, http.StatusOK, pushJSON{State: p.State, Number: p.Number, ExpiresAt: p.ExpiresAt})
	})
	mux.HandleFunc("GET /api/v1/flows/second-step/push/events", s.pushEvents)
	mux.HandleFunc("POST /api/v1/flows/second-step/push/status", jsonStep(s, func(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
		return s.Flow.PushStatus(r.Context(), c, s.flowToken(r, in.Flow))
	}))
}

// devicePrompts lists, for the device a request names, its waiting prompts.
func (s *Server) devicePrompts(r *http.Request) ([]map[string]any, error) {
	list, err := s.Flow.DevicePrompts(r.Context(), deviceToken(r))
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, map[string]any{"id": p.ID, "nonce": p.Nonce, "context": p.Context, "expires_at": p.ExpiresAt})
	}
	return out, nil
}

// deviceEvents streams an open authenticator's waiting prompts as
// server-sent events ("prompts", the list as JSON) whenever it changes:
// at once for a request started through this instance, within PushPoll
// through another. The stream ends after a few minutes; the app opens it
// again. (The token travels in the Authorization header, so the app reads
// the stream with fetch rather than EventSource.)
func (s *Server) deviceEvents(w http.ResponseWriter, r *http.Request) {
	if _, err := s.devicePrompts(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	const lasts = 5 * time.Minute
	if err := rc.SetWriteDeadline(time.Now().Add(lasts + 10*time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(s.PushPoll)
	defer tick.Stop()
	end := time.NewTimer(lasts)
	defer end.Stop()
	last := ""
	for {
		woke := s.rung.wait()
		out, err := s.devicePrompts(r)
		if err != nil {
			return
		}
		b, _ := json.Marshal(out)
		if string(b) != last {
			fmt.Fprintf(w, "event: prompts\ndata: %s\n\n", b)
			if err := rc.Flush(); err != nil {
				return
			}
			last = string(b)
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.streamsEnd:
			return
		case <-end.C:
			return
		case <-woke:
		case <-tick.C:
		}
	}
}

// pushEvents streams, as server-sent events, the state of the sign-in
// page's approval request until it is answered or ends: the page learns
// the answer at once, without reloading. The state is read from the
// database, so an answer given through another instance arrives too.
func (s *Server) pushEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The stream outlives the server's write timeout, up to the prompt's
	// own life.
	if err := rc.SetWriteDeadline(time.Now().Add(flow.PromptTTL + 10*time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.writeError(w, r, err)
		return
	}
	tok := s.cookie(r, "ward_flow")
	if t := r.URL.Query().Get("flow"); t != "" {
		tok = t
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	tick := time.NewTicker(s.PushPoll)
	defer tick.Stop()
	deadline := time.NewTimer(flow.PromptTTL + 5*time.Second)
	defer deadline.Stop()
	last := ""
	for {
		// Taken before the state is read, so an answer arriving between
		// the read and the wait still wakes this stream.
		woke := s.answered.wait()
		state, err := s.Flow.PushState(r.Context(), tok)
		if err != nil {
			state = "ended"
		}
		if state != last {
			fmt.Fprintf(w, "event: state\ndata: %s\n\n", state)
			if err := rc.Flush(); err != nil {
				return
			}
			last = state
		}
		if state != authenticator.Pending {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.streamsEnd:
			return
		case <-deadline.C:
			return
		case <-woke:
		case <-tick.C:
		}
	}
}

// broadcast wakes every waiting stream of this instance when an answer
// arrives here; answers given through another instance are seen at the
// next poll (Server.PushPoll).
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// pairingView is the page that pairs a phone: its code, its link as a QR
// code, and until when.
type pairingView struct {
	Code, Link string
	QRURI      template.URL
	ExpiresAt  time.Time
}

// appClient is the request's client, naming the app the browser is
// signing in for, if it came from one (its authorization request).
func (s *Server) appClient(r *http.Request) flow.Client {
	c := s.client(r)
	if s.OpenID == nil {
		return c
	}
	if id := s.cookie(r, oidcCookie); id != "" {
		if req, err := s.OpenID.Storage.RequestByID(r.Context(), id); err == nil {
			if app, err := s.OpenID.Storage.Store.ClientByID(r.Context(), req.ClientID); err == nil {
				c.App = app.Name
			}
		}
	}
	return c
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
