package mailcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZZDiag(t *testing.T) {
	set := os.Getenv("DIAG_SET")
	if set == "" {
		t.Skip()
	}
	c := &Checker{Brands: WellKnown()}
	files, _ := filepath.Glob("../../shared/mailcheck/" + set + "/*")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		rep, _ := c.Check(context.Background(), raw)
		m := Parse(raw)
		var rs []string
		for _, r := range rep.Reasons {
			rs = append(rs, fmt.Sprintf("%s%d%v", r.Code, r.Weight, r.Args))
		}
		fmt.Printf("%s\t%s\t%d\t%q <%s>\t%q\t%s\n", filepath.Base(f), rep.Verdict, rep.Score, m.FromName, m.FromAddress, m.Subject, strings.Join(rs, " "))
	}
}
