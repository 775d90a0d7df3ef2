package web

import (
	"fmt"
	"net/http"
)

// Brand is how the service presents itself on every page: its name, an
// optional logo and an accent colour. People learn what the real pages
// look like, which makes a copy easier to tell.
type Brand struct {
	Name string
	// Accent is the colour of buttons and links, #rrggbb (empty: ward's
	// blue); config checks that white text on it is readable.
	Accent string
	// Logo is an image file's content and its media type (nil: ward's
	// shield).
	Logo     []byte
	LogoType string
}

// brandView is what the page templates see of the brand.
type brandView struct {
	Name   string
	Logo   bool
	Accent bool
}

func (s *Server) brandView() brandView {
	name := s.Brand.Name
	if name == "" {
		name = "ward"
	}
	return brandView{Name: name, Logo: len(s.Brand.Logo) > 0, Accent: s.Brand.Accent != ""}
}

// routeBrand serves the accent as a style sheet (the pages' policy allows
// no inline style) and the logo.
func (s *Server) routeBrand(mux *http.ServeMux) {
	if s.Brand.Accent != "" {
		css := fmt.Sprintf(":root { --accent: %s; }\n", s.Brand.Accent)
		mux.HandleFunc("GET /brand.css", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=3600")
			w.Write([]byte(css))
		})
	}
	if len(s.Brand.Logo) > 0 {
		mux.HandleFunc("GET /brand/logo", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", s.Brand.LogoType)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Write(s.Brand.Logo)
		})
	}
}
