package mailcheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardhq/ward/mailcheck"
)

const corpus = "../../shared/mailcheck"

func corpusDirs(t testing.TB) []string {
	if _, err := os.Stat(filepath.Join(corpus, "MANIFEST.tsv")); err != nil {
		t.Skipf("SKIP: the real-mail corpus %s is absent; the detection figures need it", corpus)
	}
	return []string{filepath.Join(corpus, "phishing"), filepath.Join(corpus, "legit")}
}

// On real mail: legitimate mail is almost never called phishing, and most
// account-themed phishing is flagged: the goal is 95% of it flagged with
// at most 2% of legitimate mail flagged. The figures are printed with -v.
func TestRealMail(t *testing.T) {
	ch := &mailcheck.Checker{Brands: mailcheck.WellKnown()}
	ev, err := ch.Evaluate(context.Background(), corpusDirs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	ev.Write(&report)
	t.Log("\n" + report.String())
	phish, legit := ev.Sets["phishing"], ev.Sets["legit"]
	if legit.PhishingRate() > 2 {
		t.Errorf("%.1f%% of legitimate mail judged phishing (at most 2%%)", legit.PhishingRate())
	}
	if phish.ThemedFlagged() < 95 {
		t.Errorf("only %.1f%% of account-themed phishing flagged", phish.ThemedFlagged())
	}
	if legit.Flagged() > 2 {
		t.Errorf("%.1f%% of legitimate mail flagged", legit.Flagged())
	}
}

func BenchmarkCorpus(b *testing.B) {
	var mails [][]byte
	for _, d := range corpusDirs(b) {
		files, _ := filepath.Glob(filepath.Join(d, "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			mails = append(mails, raw)
		}
	}
	ch := &mailcheck.Checker{Brands: mailcheck.WellKnown()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ch.Check(context.Background(), mails[i%len(mails)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
