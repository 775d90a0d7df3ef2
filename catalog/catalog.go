// Package catalog holds every sentence ward says to people, in each
// language it speaks (Japanese and English): the pages, the API's
// messages, the mail check's reasons. They are go-i18n message files
// (catalog/messages), read once. Mail bodies are whole templates in
// notify/templates, one file per language; their dates come from Time.
package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed messages/*.json
var files embed.FS

// Languages are the languages ward speaks, the default first.
var Languages = []string{"en", "ja"}

// messages is every message by language and id. It is read once, when the
// program starts, and never changed.
var messages = mustLoad()

func mustLoad() map[string]map[string]string {
	m, err := load()
	if err != nil {
		panic(err) // the files are embedded: a bad one fails every test
	}
	return m
}

func load() (map[string]map[string]string, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	out := map[string]map[string]string{}
	for _, lang := range Languages {
		mf, err := bundle.LoadMessageFileFS(files, "messages/"+lang+".json")
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

func known(lang string) string {
	if lang == "ja" {
		return "ja"
	}
	return "en"
}

// Text is message id in lang (English for any language ward does not
// speak); a missing id shows as itself, which the catalog's tests and the
// pages' tests catch.
func Text(lang, id string) string {
	if t, ok := messages[known(lang)][id]; ok {
		return t
	}
	return id
}

// Has reports whether id is in the catalog.
func Has(id string) bool {
	_, ok := messages["en"][id]
	return ok
}

// Format is message id in lang with args put in its %[n]s places.
func Format(lang, id string, args ...any) string {
	return fmt.Sprintf(Text(lang, id), args...)
}

// IDs lists every message id of lang, sorted.
func IDs(lang string) []string { return slices.Sorted(maps.Keys(messages[known(lang)])) }

// Time writes t the way a reader of lang expects, in loc; without a loc,
// Japanese readers get Japan's time and everyone else UTC.
func Time(lang string, loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
		if lang == "ja" {
			loc = japan
		}
	}
	t = t.In(loc)
	if lang == "ja" {
		return t.Format("2006年1月2日 15:04（MST）")
	}
	return t.Format("2 Jan 2006 15:04 MST")
}

// japan is JST, fixed: Japan has no daylight saving time, and a fixed
// zone needs no tzdata on the machine.
var japan = time.FixedZone("JST", 9*60*60)
