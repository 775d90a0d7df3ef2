package mailcheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Evaluation counts verdicts over folders of .eml files.
type Evaluation struct {
	Sets    map[string]*SetResult // by folder name (phishing, legit, …)
	Reasons map[string]map[string]int
	Elapsed time.Duration
	Files   int
}

// SetResult counts one folder's verdicts, and those of its files a
// MANIFEST.tsv beside the folders marks as account/security-themed.
type SetResult struct {
	Total, Themed         int
	Verdicts, ThemedVerds map[Verdict]int
}

// Evaluate checks every file under dirs. A MANIFEST.tsv in a folder's
// parent (set, file, …, themed) marks themed files.
func (c *Checker) Evaluate(ctx context.Context, dirs ...string) (*Evaluation, error) {
	ev := &Evaluation{Sets: map[string]*SetResult{}, Reasons: map[string]map[string]int{}}
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("evaluating %s: not a folder of mail files", dir)
		}
		set := filepath.Base(filepath.Clean(dir))
		themed := readManifest(filepath.Join(filepath.Dir(filepath.Clean(dir)), "MANIFEST.tsv"), set)
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", dir, err)
		}
		res := &SetResult{Verdicts: map[Verdict]int{}, ThemedVerds: map[Verdict]int{}}
		ev.Sets[set] = res
		ev.Reasons[set] = map[string]int{}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue // a folder or unreadable file is not mail
			}
			start := time.Now()
			rep, err := c.Check(ctx, raw)
			ev.Elapsed += time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("checking %s: %w", f, err)
			}
			ev.Files++
			res.Total++
			res.Verdicts[rep.Verdict]++
			if themed[filepath.Base(f)] {
				res.Themed++
				res.ThemedVerds[rep.Verdict]++
			}
			for _, r := range rep.Reasons {
				ev.Reasons[set][r.Code]++
			}
		}
	}
	return ev, nil
}

func readManifest(path, set string) map[string]bool {
	out := map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 6 && cols[0] == set && cols[5] == "yes" {
			out[cols[1]] = true
		}
	}
	return out
}

// Flagged is the share of a set judged phishing or suspicious.
func (s *SetResult) Flagged() float64 {
	return share(s.Verdicts[Phishing]+s.Verdicts[Suspicious], s.Total)
}

// ThemedFlagged is the same share among themed files.
func (s *SetResult) ThemedFlagged() float64 {
	return share(s.ThemedVerds[Phishing]+s.ThemedVerds[Suspicious], s.Themed)
}

// PhishingRate is the share judged phishing.
func (s *SetResult) PhishingRate() float64 { return share(s.Verdicts[Phishing], s.Total) }

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// Write prints the evaluation as a plain report.
func (ev *Evaluation) Write(w io.Writer) {
	sets := make([]string, 0, len(ev.Sets))
	for s := range ev.Sets {
		sets = append(sets, s)
	}
	slices.Sort(sets)
	for _, name := range sets {
		s := ev.Sets[name]
		fmt.Fprintf(w, "%s: %d files; phishing %d, suspicious %d, no sign %d, genuine %d, needs headers %d\n", name, s.Total,
			s.Verdicts[Phishing], s.Verdicts[Suspicious], s.Verdicts[NoProblem], s.Verdicts[Genuine], s.Verdicts[NeedHeaders])
		fmt.Fprintf(w, "  flagged (phishing or suspicious) %.1f%%, judged phishing %.1f%%\n", s.Flagged(), s.PhishingRate())
		if s.Themed > 0 {
			fmt.Fprintf(w, "  account/security-themed: %d files, flagged %.1f%% (phishing %d, suspicious %d)\n", s.Themed, s.ThemedFlagged(),
				s.ThemedVerds[Phishing], s.ThemedVerds[Suspicious])
		}
		codes := make([]string, 0, len(ev.Reasons[name]))
		for c := range ev.Reasons[name] {
			codes = append(codes, c)
		}
		slices.SortFunc(codes, func(a, b string) int { return ev.Reasons[name][b] - ev.Reasons[name][a] })
		fmt.Fprintf(w, "  reasons:")
		for _, c := range codes {
			fmt.Fprintf(w, " %s=%d", c, ev.Reasons[name][c])
		}
		fmt.Fprintln(w)
	}
	if ev.Files > 0 {
		fmt.Fprintf(w, "%d files in %v: %.0f messages/s on one goroutine\n", ev.Files, ev.Elapsed.Round(time.Millisecond),
			float64(ev.Files)/ev.Elapsed.Seconds())
	}
}
