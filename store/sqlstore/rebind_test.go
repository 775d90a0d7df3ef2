package sqlstore

import "testing"

func TestNumberedPlaceholdersSkipLiteralsAndComments(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE x = ? AND y = ?`:                  `SELECT a FROM t WHERE x = $1 AND y = $2`,
		`SELECT '?' , "col?" FROM t WHERE x = ?`:                 `SELECT '?' , "col?" FROM t WHERE x = $1`,
		`SELECT 'it''s ?' WHERE x = ?`:                           `SELECT 'it''s ?' WHERE x = $1`,
		"SELECT x -- why?\nFROM t WHERE a = ?":                   "SELECT x -- why?\nFROM t WHERE a = $1",
		`SELECT /* ? */ x FROM t WHERE a = ? /* and ? */`:        `SELECT /* ? */ x FROM t WHERE a = $1 /* and ? */`,
		`UPDATE t SET a = ? WHERE b = ? AND c <> '' RETURNING ?`: `UPDATE t SET a = $1 WHERE b = $2 AND c <> '' RETURNING $3`,
		`SELECT 'unterminated ?`:                                 `SELECT 'unterminated ?`,
	} {
		if got := numbered(in); got != want {
			t.Errorf("numbered(%q) = %q, want %q", in, got, want)
		}
	}
}
