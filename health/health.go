// Package health answers the two questions an orchestrator or load
// balancer asks of a ward process: is it alive (/healthz), and should it
// be sent traffic now (/readyz).
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Check is one condition of readiness; Run returns why it is not met.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Health holds the checks and whether the process is shutting down.
type Health struct {
	Checks   []Check
	stopping atomic.Bool
}

// Stopping marks the process as shutting down: /readyz answers 503 from
// now on, so that load balancers stop sending requests before the
// listener closes.
func (h *Health) Stopping() { h.stopping.Store(true) }

// Live answers 200 while the process can answer at all.
func (h *Health) Live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Ready runs every check (each given a few seconds) and answers 200 when
// all pass, else 503, with each check's outcome in a JSON body.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{Status: "ready", Checks: map[string]string{}}
	code := http.StatusOK
	if h.stopping.Load() {
		out.Status, code = "stopping", http.StatusServiceUnavailable
	}
	for _, c := range h.Checks {
		if err := c.Run(ctx); err != nil {
			out.Checks[c.Name] = err.Error()
			if code == http.StatusOK {
				out.Status, code = "not ready", http.StatusServiceUnavailable
			}
			continue
		}
		out.Checks[c.Name] = "ok"
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(out)
}
