package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wardhq/ward/store"
)

// The dashboard of an account with 10,000 activity rows (one page of 50
// is read; see also ward loadtest --dashboard for figures under load).
func BenchmarkDashboard(b *testing.B) {
	w := start(b, "sqlite")
	w.createAccount("busy@example.jp", "")
	c := browserish()
	r := w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": "busy@example.jp"})
	r = w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code("busy@example.jp")}, "X-Ward-Session", "bearer")
	tok := r.body["token"].(string)
	a, _ := w.in.Store.AccountByEmail(context.Background(), "busy@example.jp")
	now := time.Now()
	w.in.Store.InTx(context.Background(), func(q store.Queries) error {
		for i := range 10000 {
			q.AppendEvent(context.Background(), store.Event{ID: store.NewID(), AccountID: a.ID, At: now.Add(-time.Duration(i) * 4 * time.Minute),
				Kind: "sign_in", Result: "wrong_password", Method: "password", IP: fmt.Sprintf("203.0.113.%d", i%250), Device: "Firefox on Linux"})
		}
		return nil
	})
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", w.srv.URL+"/account", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err, res.StatusCode)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
