package web

import (
	"net/http"

	"golang.org/x/text/language"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/catalog"
)

var supported = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(supported)

// tr returns the text of key in lang ("en" or "ja") from the catalog; a
// missing key shows as itself, and TestEveryPageInBothLanguages fails on it.
func tr(lang, key string) string { return catalog.Text(lang, key) }

// language picks the page language: an explicit choice, then the
// switcher's cookie, then the signed-in account's language, then
// Accept-Language.
func (s *Server) language(r *http.Request, explicit string) string {
	mine, _ := r.Context().Value(accountLangKey).(string)
	for _, l := range []string{explicit, r.URL.Query().Get("lang"), s.cookie(r, "ward_lang"), mine} {
		if account.ValidLanguage(l) {
			return l
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := matcher.Match(tags...)
	if conf != language.No && i == 1 {
		return "ja"
	}
	return "en"
}
