package web

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// Text and its background meet WCAG AA (4.5:1) for every pair the style
// sheet uses, including text on the highlighted "unusual" rows.
func TestColourContrastMeetsWCAGAA(t *testing.T) {
	css, err := assets.ReadFile("static/ward.css")
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{"#1a1a1a", "#fff"},    // text on cards
		{"#1a1a1a", "#f4f6f9"}, // text on the page
		{"#4a4a4a", "#fff"},    // notes
		{"#4a4a4a", "#f4f6f9"},
		{"#fff", "#0b57d0"}, // buttons
		{"#0b57d0", "#fff"}, // secondary buttons, links
		{"#0b57d0", "#f4f6f9"},
		{"#fff", "#a4161a"},    // danger buttons
		{"#a4161a", "#fff"},    // danger-outline buttons
		{"#8c1d18", "#fce8e6"}, // error banners, failure badges
		{"#0f5223", "#e6f4ea"}, // success banners and badges
		{"#6b4500", "#fef7e0"}, // held-back badges, attention items
		{"#3c4043", "#eef0f3"}, // neutral badges
		{"#4a4a4a", "#eef0f3"}, // disabled buttons
		{"#fff", "#8c1d18"},    // blocked badges
		{"#1a1a1a", "#e8f0fe"}, // information banners
		{"#1a1a1a", "#fff4e5"}, // unusual rows
		{"#4a4a4a", "#fff4e5"},
		{"#a4161a", "#fff4e5"},
		{"#1a1a1a", "#f6f6f6"}, // mail-check verdict box
	}
	for _, p := range pairs {
		for _, c := range p {
			if !strings.Contains(string(css), c) {
				t.Errorf("%s is not in ward.css: keep this list in step with it", c)
			}
		}
		if r := contrast(p[0], p[1]); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f:1, below 4.5:1", p[0], p[1], r)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	hex = strings.TrimPrefix(hex, "#")
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}
