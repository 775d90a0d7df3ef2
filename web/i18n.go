package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/wardhq/ward/account"
)

//go:embed locales/*.json
var localeFS embed.FS

// catalog holds every string the pages show, in each language ward speaks,
// read once from web/locales (go-i18n message files) and never changed.
var catalog = mustCatalog()

func mustCatalog() map[string]map[string]string {
	c, err := loadCatalog()
	if err != nil {
		panic(err) // the files are embedded: a bad one fails every test
	}
	return c
}

func loadCatalog() (map[string]map[string]string, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	out := map[string]map[string]string{}
	for _, lang := range []string{"en", "ja"} {
		mf, err := bundle.LoadMessageFileFS(localeFS, "locales/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("reading the %s messages: %w", lang, err)
		}
		loc := i18n.NewLocalizer(bundle, lang)
		out[lang] = map[string]string{}
		for _, m := range mf.Messages {
			text, err := loc.Localize(&i18n.LocalizeConfig{MessageID: m.ID})
			if err != nil {
				return nil, fmt.Errorf("message %s (%s): %w", m.ID, lang, err)
			}
			out[lang][m.ID] = text
		}
	}
	return out, nil
}

var supported = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(supported)

// tr returns the text of key in lang ("en" or "ja"); a missing key shows
// as itself, and TestEveryPageInBothLanguages fails on it.
func tr(lang, key string) string {
	if lang != "ja" {
		lang = "en"
	}
	if t, ok := catalog[lang][key]; ok {
		return t
	}
	return key
}

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
