package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every message exists in both languages, with the same placeholders.
func TestEveryMessageInBothLanguages(t *testing.T) {
	en, ja := IDs("en"), IDs("ja")
	for _, lang := range [][2]any{{"en", en}, {"ja", ja}} {
		other := "ja"
		if lang[0] == "ja" {
			other = "en"
		}
		for _, id := range lang[1].([]string) {
			if _, ok := messages[other][id]; !ok {
				t.Errorf("%s has %q, %s does not", lang[0], id, other)
			}
		}
	}
	for _, id := range en {
		for _, p := range []string{"%[1]s", "%[2]s", "%[3]s", "%[4]s", "%s"} {
			if strings.Count(messages["en"][id], p) > 0 != (strings.Count(messages["ja"][id], p) > 0) {
				t.Errorf("%s: placeholder %s in one language only", id, p)
			}
		}
	}
}

func TestTimeInTheReadersWay(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 4, 0, 0, time.UTC)
	if got := Time("ja", nil, at); got != "2026年11月26日 00:04（JST）" {
		t.Errorf("ja: %q", got)
	}
	if got := Time("en", nil, at); got != "25 Nov 2026 15:04 UTC" {
		t.Errorf("en: %q", got)
	}
	if Time("en", nil, time.Time{}) != "" || Text("fr", "account") != Text("en", "account") || Text("en", "no such id") != "no such id" {
		t.Error("zero time, unknown language or unknown id")
	}
}

// bannedJa are the variants docs/GLOSSARY-ja.md replaces, with the word
// to use instead.
var bannedJa = []struct{ re, use string }{
	{`ログイン|ログアウト`, "サインイン / サインアウト"},
	{`復旧`, "回復"},
	{`リセット`, "再設定"},
	{`要求`, "リクエスト"},
	{`心当たり|身に覚え|自分ではない`, "自分ではありません / ご自身の操作でない"},
	{`本人確認済み`, "ご自身の操作と確認済み"},
	{`2 段階認証プロセス`, "2 段階認証"},
	{`端末`, "デバイス"},
	{`サインイン名|エイリアス`, "サインイン用の別名"},
	{`フォルダ(?:[^ー]|$)|サーバ(?:[^ー]|$)|フィルタ(?:[^ー]|$)`, "フォルダー, サーバー, フィルター"},
	{`メール事業者`, "受信側のメール サーバー"},
	{`あなたのアカウント`, "アカウント"},
	{`続行`, "次へ"},
	{`本物です|不審です`, "正規のメールです / 不審なメールです"},
	{`とのことです`, "what happened, said plainly"},
	{`[\p{Han}\p{Hiragana}\p{Katakana}ー][?!()]|[?!()][\p{Han}\p{Hiragana}\p{Katakana}]`, "full-width ？！（）"},
	{`[\p{Han}\p{Hiragana}\p{Katakana}ー）」]:`, "a full-width ： or the value inside the sentence"},
}

// Every Japanese message and mail keeps to the glossary: one word for
// one concept, and Japanese punctuation.
func TestJapaneseGlossary(t *testing.T) {
	texts := map[string]string{}
	for id, s := range messages["ja"] {
		texts["catalog "+id] = s
	}
	files, _ := filepath.Glob("../notify/templates/*.ja.*")
	if len(files) < 10 {
		t.Fatalf("found %d Japanese mail templates", len(files))
	}
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}|<[^>]*>`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			// The mail header's name stays "Subject:".
			line = strings.Replace(actions.ReplaceAllString(line, " "), "Subject:", "", 1)
			texts[fmt.Sprintf("%s:%d", filepath.Base(f), i+1)] = line
		}
	}
	for _, b := range bannedJa {
		re := regexp.MustCompile(b.re)
		for where, s := range texts {
			if m := re.FindString(s); m != "" {
				t.Errorf("%s: %q (use %s): %s", where, m, b.use, s)
			}
		}
	}
}
