package editdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"listen", "listen", 0},
		{"listn", "listen", 1},                  // a letter left out
		{"mail.smtp.hots", "mail.smtp.host", 1}, // two letters swapped
		{"paypal", "paypa1", 1},
		{"microsoft", "mircosoft", 1},
		{"kitten", "sitting", 3},
		{"コード", "コーダ", 1},
		{"", "abc", 3},
		{strings.Repeat("a", 100), strings.Repeat("a", 99) + "b", 1}, // longer than the stack rows
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("listn", "listen")
	f.Add("ｐａｙｐａｌ", "paypal")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Distance(a, b)
		if d < 0 || d > max(len([]rune(a)), len([]rune(b))) || (d == 0) != (string([]rune(a)) == string([]rune(b))) {
			t.Fatalf("Distance(%q, %q) = %d", a, b, d)
		}
	})
}
