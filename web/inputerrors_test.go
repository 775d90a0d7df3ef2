package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wardhq/ward/catalog"
)

// Defect 4: every refusal of bad input that account and flow can give has
// its sentence in both languages, so a Japanese reader learns as much as
// an English one. The keys are read from the source: a new refusal
// without its sentences fails here.
func TestEveryInputErrorInBothLanguages(t *testing.T) {
	keys, prefixes := map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range []string{"../account", "../flow"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				if strings.HasPrefix(s, "input_") {
					if strings.HasSuffix(s, "_") {
						prefixes[s] = true // completed by a kind: input_no_such_ + "passkey"
					} else {
						keys[s] = true
					}
				}
				return true
			})
		}
	}
	if len(keys) < 40 {
		t.Fatalf("found only %d input error keys in account and flow", len(keys))
	}
	all := catalog.IDs("en")
	for p := range prefixes {
		n := 0
		for _, id := range all {
			if strings.HasPrefix(id, p) {
				n++
				keys[id] = true
			}
		}
		if n == 0 {
			t.Errorf("no sentence starts with %q", p)
		}
	}
	for k := range keys {
		if !catalog.Has(k) {
			t.Errorf("%s: no sentence in the catalog", k)
			continue
		}
		en, ja := catalog.Format("en", k, 8, "x"), catalog.Format("ja", k, 8, "x")
		if en == ja || ja == k {
			t.Errorf("%s: no Japanese sentence (%q)", k, ja)
		}
		if strings.Count(catalog.Text("en", k), "%") != strings.Count(catalog.Text("ja", k), "%") {
			t.Errorf("%s: the two languages take different values: %q / %q", k, catalog.Text("en", k), catalog.Text("ja", k))
		}
		if strings.ContainsAny(catalog.Text("ja", k), "?():") {
			t.Errorf("%s: half-width punctuation in Japanese: %q", k, catalog.Text("ja", k))
		}
	}
}
