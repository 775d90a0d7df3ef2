package web

import (
	"io/fs"
	"net/http"
	"strings"
)

// PageNames lists every page template, for the browser tests.
var PageNames = pageNames

// SamplePages serves every page rendered with sample data at
// /sample/{lang}/{page}, with the real static assets: the browser tests
// check pages no live flow reaches cheaply (an app's consent, a held
// second step) as people would see them.
func SamplePages() (http.Handler, error) {
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /sample/{lang}/{page}", func(w http.ResponseWriter, r *http.Request) {
		out, _, err := renderSample(p, r.PathValue("lang"), r.PathValue("page"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// The continue page would go on to the app at once; here it stays.
		out = strings.Replace(out, `http-equiv="refresh"`, `name="refresh-off"`, 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(out))
	})
	return mux, nil
}
