package mailcheck

import (
	"bytes"
	"path"
	"regexp"
	"strings"
	"unicode"

	"github.com/wardhq/ward/confusable"
)

// Weights: how far a sign moves a mail toward "phishing".
const (
	weak   = 1
	medium = 2
	strong = 4
)

// Phrase lists are by language, and general: each names a kind of
// request or pressure, never a particular campaign. Japanese and English
// are the languages ward's readers use; the others are the ones phishing
// aimed at them is most often written in.
var (
	credentialRequest = newPhrases(strings.ToLower(`` +
		`\b(enter|confirm|verify|update|provide|re-?enter|validate|submit|type|send us|reply with)\s+(your|the|all)?\s*(current\s+|account\s+|e-?mail\s+)?(password|passcode|login details|login credentials|credentials|card number|card details|credit card|debit card|cvv|cvc|pin\b|bank details|bank account|billing (info|information|details)|payment (info|information|details)|social security|ssn|id card|identity document|passport|driver'?s licen[cs]e|seed phrase|recovery phrase|secret phrase|private key|wallet)` +
		`|\b(sign|log)\s?-?in\s+(now\s+)?(to|and)\s+(verify|confirm|restore|unlock|reactivate|keep|avoid|secure|update|validate|review)` +
		`|\b(verify|confirm|validate|update|restore)\s+(your\s+)?(account|identity|mailbox|e-?mail account|wallet|information|details|billing)\b` +
		`|パスワード(を|の)?(入力|確認|更新|再設定|変更)|カード(番号|情報)|暗証番号|口座(番号|情報)|セキュリティコード|本人確認(書類)?|ログイン(して|の上|し、)|マイナンバー|アカウント(を|の)?(確認|認証|更新)` +
		`|(Passwort|Kennwort|Kartennummer|Bankdaten|Zahlungsdaten|Kontodaten)|(bestätigen|verifizieren|aktualisieren) Sie (Ihr|Ihre)` +
		`|\b(senha|cartão|dados bancários|confirme (seus|os) dados|atualize (seus|os) dados|verifique (sua|a) conta)` +
		`|\b(contraseña|tarjeta de crédito|datos bancarios|verifique su cuenta|confirme sus datos|verifica tu cuenta)` +
		`|\b(mot de passe|carte bancaire|coordonnées bancaires|confirmez vos (informations|données)|vérifiez votre compte)` +
		`|\b(wachtwoord|bankgegevens|bevestig uw (gegevens|account))`))

	// verifyAccount: asked to verify or confirm an account (one word may
	// stand between: "verify your Shop account"). Real services ask it
	// too, so alone it is not enough.
	verifyAccount = newPhrases(strings.ToLower(`\b(verify|confirm|validate|activate|reactivate|unlock|restore)\s+(your|the)\s+(\S+\s+)?(account|mailbox|wallet|identity|profile)\b` +
		`|\b(bestätigen|verifizieren) sie ihr(en)? (konto|profil)|\b(confirme|verifique|ative) (sua|a) conta|\b(confirme|verifique|active) su cuenta|アカウント(を|の)(確認|認証|有効化)`))

	urgency = newPhrases(strings.ToLower(`` +
		`\b(urgent(ly)?|immediately|immediate action|act (now|today|fast)|action (required|needed)|(within|expires? in|ends? in) \d+\s*(hours?|hrs|days?)|final (notice|warning|reminder)|last (chance|warning|notice|reminder)|suspend(ed|ing)?|deactivat(e|ed|ion)|terminat(e|ed|ion)|will be (deleted|closed|blocked|suspended|locked|lost|removed|disabled|terminated)|permanently (deleted|closed|locked|lost)|expir(es|ed|ing) (today|soon|now)|unusual (activity|sign-?in|login)|suspicious (activity|sign-?in|login)|unauthori[sz]ed|has been (locked|restricted|limited|blocked|compromised)|restricted|failure to|avoid (losing|suspension|closure|interruption)|security (alert|breach|warning)|data breach|verify (now|immediately)|(verification|action|response) (is )?required|immediate (verification|attention|response)|someone (tried|attempted|has tried) to (log|sign) ?-?in|(account|mailbox) (is|will be|has been) (on hold|put on hold|closed|disabled)|(mailbox|storage) (is )?(full|almost full|quota))` +
		`|至急|緊急|直ちに|ただちに|時間以内|停止|凍結|利用制限|削除されます|ロックされ|不正(な)?(アクセス|ログイン|利用)|期限切れ|本日中` +
		`|\b(dringend|sofort|gesperrt|letzte (Chance|Mahnung|Warnung)|innerhalb von \d+|eingeschränkt|ungewöhnliche Aktivität)` +
		`|\b(urgente|imediatamente|bloquead[ao]|suspens[ao]|última (chance|chamada)|acesso suspeito|novo dispositivo)` +
		`|\b(inmediatamente|bloquead[ao]|suspendid[ao]|último aviso|actividad inusual)` +
		`|\b(immédiatement|suspendu|bloqué|dernier (délai|avis|rappel)|activité inhabituelle)` +
		`|\b(urgente|immediatamente|sospes[oa]|bloccat[oa]|ultimo avviso|attività insolita)` +
		`|\b(onmiddellijk|geblokkeerd|opgeschort|laatste (kans|herinnering|waarschuwing)|verloopt (vandaag|binnenkort)|ongebruikelijke activiteit)` +
		`|\b(pilne|natychmiast|zablokowane|zawieszone|ostatnie (wezwanie|ostrzeżenie))`))

	accountTheme = newPhrases(strings.ToLower(`\b(accounts?|sign-?in|log-?in|passwords?|verif(y|ication)|security|2fa|two-factor|mailbox|wallet|credentials)\b` +
		`|アカウント|サインイン|ログイン|パスワード|認証|セキュリティ|\b(Konto|Anmeldung|Sicherheit|conta|acesso|segurança|cuenta|seguridad|compte|sécurité|account|accesso|sicurezza|rekening|beveiliging|inloggen|konto|hasło)\b`))

	// lure: prizes, free money and pills, the bait of mass phishing.
	lure = newPhrases(strings.ToLower(`\b(you('ve| have) (won|been selected|been chosen)|claim (your|now|today)|free spins|airdrop|unclaimed|rewards? (is |are )?waiting|prize|jackpot|lottery|inheritance|beneficiary|without (a |the need for a )?prescription|no prescription (needed|required)|viagra|cialis|bitcoin millionaire|crypto giveaway)` +
		`|\b(gewonnen|gewinnen sie|gewinnspiel|gutschein|freispiele|verlosung)|\b(parabéns|você ganhou|sorteio|prêmio)|\b(has ganado|ganaste|premio|sorteo)|\b(gewonnen|prijzen|winnaar|gratis cadeau)|\b(vous avez gagné|gagnant|cadeau gratuit)` +
		`|当選|賞金|プレゼント|無料で受け取`))

	// mailedPassword: a password written out in a mail ("Your Password:
	// "DmVAOW""), which no service that keeps passwords safe sends.
	mailedPassword = newPhrases(strings.ToLower(`\b(password|passwort|senha|contraseña|mot de passe)\s*[:：]\s*["“']?[^\s"”']{4,}|パスワード\s*[:：]\s*\S{4,}`))

	// inboxPlea: asking to be moved out of the spam folder is asking the
	// reader to overrule their filter.
	inboxPlea = newPhrases(strings.ToLower(`\b(move (this|it|us|the (e-?mail|message)) to (your )?inbox|mark (this|it|us) as (not spam|safe)|move to inbox|add us to your (safe|contacts))` +
		`|\b(verschieben sie (ihn|sie|diese|die e-mail)( bitte)? (in|nach|auf) ihr(en)? posteingang|in den posteingang)|\b(mova (para|esta) (a )?caixa de entrada)|\b(mueva (este|el) (correo|mensaje) a (su )?bandeja)` +
		`|迷惑メール(フォルダ)?から(移動|受信トレイ)`))

	domainInText = regexp.MustCompile(`(?i)(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{2,59}))\b`)
	addressLike  = regexp.MustCompile(`[^\s<>"'@]+@((?:[a-z0-9-]+\.)+[a-z]{2,24})`)
	// officialWords name institutions people obey: a bank, a ministry, the
	// post, the tax office. Their mail never comes from a free mailbox.
	officialWords = regexp.MustCompile(`(?i)\b(bank|banco|banque|ministry|ministerio|ministério|ministère|ministero|government|gobierno|governo|tax office|revenue|finanzamt|receita|hacienda|impots|police|polícia|policía|court|tribunal|customs|zoll|aduana|alfândega|post office|postal service|correios|correos|la poste|parcel|paket|courier|delivery service|entrega|envío|encomenda)\b|銀行|郵便|税務署|国税庁|警察|裁判所|税関|市役所|年金`)
	// authorityWords are what a sender calls itself to be obeyed about an
	// account: security, support, billing.
	authorityWords = regexp.MustCompile(`(?i)\b(security|protection|accounts?|billing|verification|admin|administrator|help ?desk|webmaster|mail ?server|it (department|support)|customer (care|support|service)|support team)\b|セキュリティ|サポート|カスタマー`)
	orgWords       = regexp.MustCompile(`(?i)\b(security|support|team|service|services|admin|administrator|billing|account|accounts|help ?desk|notification|notifications|alert|alerts|no-?reply|customer care|verification|it department|webmaster|mail ?server)\b|サポート|セキュリティ|事務局|運営|カスタマー`)
)

// A phone number people are asked to call, and what callback phishing
// says around it: a charge, a renewal or a refund they did not expect.
var (
	callLure = newPhrases(strings.ToLower(`\b(call (us|our|the|now|immediately|toll)|contact (us|our (support|billing|help)|customer (support|service))|if you did(n't| not) (authori[sz]e|make|order|request|recogni[sz]e)|to cancel (this|the|your)|(charged|debited|renewed|renewal|subscription|invoice|order|refund|transaction|purchase)\b)` +
		`|お電話|電話でお問い合わせ|\b(ligue|llame|appelez|rufen sie)`))
)

// phoneNumber finds a telephone number as mails write one: 10 to 13
// digits, grouped by spaces, dots, dashes or brackets, maybe after a +.
// A scan, not a regular expression: digit runs made a backtracking
// expression the check's costliest step.
func phoneNumber(text string) string {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= '0' && c <= '9' || c == '+' || c == '(') || i > 0 && isWordByte(text[i-1]) {
			continue
		}
		digits, end, j := 0, i, i
		for ; j < len(text) && j-i < 24; j++ {
			d := text[j]
			if d >= '0' && d <= '9' {
				digits, end = digits+1, j+1
				continue
			}
			if d != ' ' && d != '.' && d != '-' && d != '(' && d != ')' && (d != '+' || j != i) {
				break
			}
		}
		if digits >= 10 && digits <= 13 && (end == len(text) || !isWordByte(text[end])) && !isoDate.MatchString(text[i:end]) {
			return text[i:end]
		}
		i = max(j-1, i)
	}
	return ""
}

// isoDate is a date and time that a number scan would take for a phone.
var isoDate = regexp.MustCompile(`^\d{4}[-./]\d{1,2}[-./]\d{1,2}`)

// freeHosts are where anyone gets a web site or a function in minutes,
// under the host's name: phishing pages live there for a day.
var freeHosts = map[string]bool{
	"pages.dev": true, "workers.dev": true, "r2.dev": true, "web.app": true, "firebaseapp.com": true, "netlify.app": true,
	"vercel.app": true, "github.io": true, "gitlab.io": true, "glitch.me": true, "herokuapp.com": true, "onrender.com": true,
	"fly.dev": true, "repl.co": true, "replit.app": true, "replit.dev": true, "azurewebsites.net": true, "web.core.windows.net": true,
	"blob.core.windows.net": true, "cloudfunctions.net": true, "run.app": true, "appspot.com": true, "on.aws": true,
	"s3.amazonaws.com": true, "weebly.com": true, "wixsite.com": true, "square.site": true, "godaddysites.com": true,
	"webflow.io": true, "framer.app": true, "framer.website": true, "carrd.co": true, "blogspot.com": true, "jimdosite.com": true,
	"ipfs.io": true, "dweb.link": true, "ngrok.io": true, "ngrok-free.app": true, "trycloudflare.com": true, "notion.site": true,
	"canva.site": true, "typedream.app": true, "sites.google.com": true, "forms.gle": true, "surge.sh": true, "000webhostapp.com": true,
	"wordpress.com": true, "mystrikingly.com": true, "yolasite.com": true, "webnode.page": true, "tilda.ws": true,
}

// onFreeHost reports whether host is a site on a free host (the host's own
// home page is not).
func onFreeHost(host string) bool {
	for h := host; strings.Contains(h, "."); {
		if freeHosts[h] {
			return h != host
		}
		_, h, _ = strings.Cut(h, ".")
	}
	return false
}

var shorteners = map[string]bool{
	"bit.ly": true, "bitly.com": true, "tinyurl.com": true, "t.co": true, "goo.gl": true, "ow.ly": true, "is.gd": true,
	"buff.ly": true, "rebrand.ly": true, "cutt.ly": true, "shorturl.at": true, "rb.gy": true, "t.ly": true, "tiny.cc": true,
	"s.id": true, "bit.do": true, "v.gd": true, "shorte.st": true, "adf.ly": true, "qrco.de": true, "lnkd.in": true,
	"t.me": false, "short.io": true, "tiny.one": true, "x.gd": true, "urlz.fr": true, "surl.li": true, "u.to": true,
}

// Free mail providers: an organisation's security notice does not come
// from a personal mailbox.
var freeMail = map[string]bool{
	"gmail": true, "googlemail": true, "outlook": true, "hotmail": true, "live": true, "msn": true, "yahoo": true, "ymail": true,
	"aol": true, "icloud": true, "me": true, "mail": true, "yandex": true, "gmx": true, "web": true, "proton": true,
	"protonmail": true, "zoho": true, "qq": true, "163": true, "126": true, "naver": true, "mail.ru": true, "inbox": true,
	"libero": true, "orange": true, "free": true, "t-online": true, "uol": true, "bol": true, "terra": true, "rediffmail": true,
}

func isFreeMail(host string) bool {
	reg := registrable(host)
	return reg != "" && (freeMail[label(reg)] || freeMail[reg])
}

var riskyExtensions = map[string]bool{
	".html": true, ".htm": true, ".shtml": true, ".xhtml": true, ".svg": true, ".hta": true,
	".zip": true, ".rar": true, ".7z": true, ".iso": true, ".img": true, ".gz": true, ".cab": true,
	".exe": true, ".scr": true, ".com": true, ".pif": true, ".js": true, ".jse": true, ".vbs": true, ".vbe": true, ".wsf": true,
	".bat": true, ".cmd": true, ".ps1": true, ".jar": true, ".msi": true, ".lnk": true, ".docm": true, ".xlsm": true, ".pptm": true,
	".mobileconfig": true, ".one": true, ".onepkg": true, ".xll": true, ".iqy": true, ".slk": true, ".appx": true, ".msix": true,
	".vhd": true, ".vhdx": true, ".chm": true, ".url": true, ".website": true, ".reg": true, ".apk": true,
}

// evasion finds the tricks that make words unreadable to filters but not
// to people: invisible characters inside words, letters from styled
// mathematical alphabets, and words that mix scripts.
func evasion(s string) string {
	invisible, styled := 0, 0
	prev := rune(0)
	for _, r := range s {
		markOnASCII := prev < 0x80 && unicode.IsLetter(prev) && unicode.Is(unicode.Mn, r) && (r < 0x0300 || r > 0x036F)
		prev = r
		switch {
		case markOnASCII:
			// A Syriac or Hebrew mark on a Latin letter: invisible to the
			// reader, enough to break a filter's word match.
			invisible++
		case r == 0x034F || r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x00AD ||
			(r >= 0xE0000 && r <= 0xE01EF):
			invisible++
		case r >= 0x1D400 && r <= 0x1D7FF, r >= 0x1D00 && r <= 0x1D2B, r == 0xA731, r == 0x0262, r == 0x026A, r == 0x0274, r == 0x0280, r == 0x028F:
			// Mathematical alphabets and small capitals (ᴀʙᴄ).
			styled++
		}
	}
	switch {
	case invisible >= 2:
		return "invisible"
	case styled >= 3:
		return "styled"
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if capitalsWithL(w) {
			return "letters" // VlAGRA, ClALlS: an l standing in for an I
		}
	}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
		latin, other := false, false
		for _, r := range w {
			switch {
			case unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r):
				other = true
			}
		}
		if latin && other {
			return "mixed"
		}
	}
	return ""
}

// capitalsWithL reports a word in capitals but for a small l where an I
// belongs, which reads the same and escapes a filter's word list.
func capitalsWithL(w string) bool {
	upper, l := 0, 0
	for _, r := range w {
		switch {
		case r == 'l':
			l++
		case r >= 'A' && r <= 'Z':
			upper++
		default:
			return false
		}
	}
	return l > 0 && upper >= 3
}

func extension(name string) string { return strings.ToLower(path.Ext(strings.TrimSpace(name))) }

// personLike reports a display name that reads as a person's name ("Aiko
// Tanaka", "J. Smith"): words of letters, two or three of them.
func personLike(name string) bool {
	words := strings.Fields(strings.Trim(name, `"' `))
	if len(words) < 1 || len(words) > 4 {
		return false
	}
	for _, w := range words {
		for _, r := range strings.TrimRight(w, ".,") {
			if !unicode.IsLetter(r) && r != '-' && r != '\'' {
				return false
			}
		}
	}
	if len(words) == 1 && unicode.IsUpper([]rune(words[0])[0]) && len([]rune(words[0])) > 12 {
		return false
	}
	// "Cloud Service Notification" reads like a name, and is not one.
	return !orgWords.MatchString(name) && !officialWords.MatchString(name)
}

// nameInDomain reports whether any word of a sender's name shows in its
// domain ("Humble Bundle" at humblebundle.com), the way an organisation's
// name and address agree.
func nameInDomain(name, host string) bool {
	d := confusable.Skeleton(strings.ReplaceAll(strings.ReplaceAll(host, "-", ""), ".", " "))
	words := strings.FieldsFunc(confusable.Skeleton(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return true
	}
	for _, w := range words {
		if len(w) >= 3 && strings.Contains(d, w) {
			return true
		}
	}
	return false
}

// A stranger can make a real site mail anyone: they sign up, or fill in
// a contact form, with the victim's address and put their bait where the
// site repeats what was typed: the username ("Username: www.x.blogspot.com
// - 1.3 BTC"), or the name it greets ("Hi ✅ +$4,811 ➡️ ok.me/x,"). Such a
// mail is genuinely from the site; what it carries is not.
var (
	// nameFields name what a site repeats as typed, before a colon.
	nameFields = []string{"user name", "username", "login name", "login", "nickname", "display name", "benutzername",
		"nome de usuário", "nome de usuario", "nombre de usuario", "usuário", "usuario", "ユーザー名", "ユーザ名"}
	greetings = []string{"hi ", "hello ", "hey ", "dear ", "hallo ", "olá ", "ola ", "hola ", "bonjour "}
	// moneyBait is a sum of money or crypto, or the word for taking it.
	moneyBait  = regexp.MustCompile(`(?i)[$€£¥₿]\s?\d|\d[\d.,]*\s?(?:btc|eth|usdt|usdc|bnb|euros?|usd|dollars?)\b|\b(?:withdraw|claim|payout|transfer)\b`)
	webAddress = regexp.MustCompile(`(?i)(https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,24})\b(/)?`)
)

// injectedBait finds bait in a field a stranger filled in: the field's
// value, and whether it holds a web address and a sum of money. A
// greeting may name a brand that is a domain ("Dear Booking.com
// customer"), so there only a link counts (a scheme, www. or a path);
// a username is no place for any web address but the sender's own.
func injectedBait(opening, sender string) (value string, address, money bool) {
	for rest := opening; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		v, greeting := nameValue(line)
		if v == "" {
			continue
		}
		address = webAddressIn(v, sender, greeting)
		money = moneyBait.MatchString(v)
		if address || money {
			return v, address, money
		}
	}
	return "", false, false
}

// nameValue is what follows a name field's label ("Username: …") or a
// greeting up to its comma ("Hi …,") on one line, and which it was. A
// line is read this way instead of by one expression over the whole
// opening, which cost a fifth of the check.
func nameValue(line string) (value string, greeting bool) {
	line = strings.TrimLeft(line, " \t")
	if line == "" || line[0] < 0x80 && !unicode.IsLetter(rune(line[0])) {
		return "", false
	}
	// Lower-cased byte for byte, so offsets in head are offsets in line.
	var buf [24]byte
	head := buf[:copy(buf[:], line)]
	for i, c := range head {
		if c >= 'A' && c <= 'Z' {
			head[i] = c + 'a' - 'A'
		}
	}
	for _, f := range nameFields {
		if bytes.HasPrefix(head, []byte(f)) {
			rest := strings.TrimLeft(line[len(f):], " \t")
			if v, ok := strings.CutPrefix(rest, ":"); ok {
				return strings.TrimSpace(leadLines(v, 120)), false
			}
			if v, ok := strings.CutPrefix(rest, "："); ok {
				return strings.TrimSpace(leadLines(v, 120)), false
			}
			return "", false
		}
	}
	for _, g := range greetings {
		if bytes.HasPrefix(head, []byte(g)) {
			rest := line[len(g):]
			// The greeted name ends at the first comma followed by a space
			// or the line's end ("+$4,811" is one name).
			for i := 0; i < len(rest) && i < 80; i++ {
				if rest[i] == ',' && (i+1 == len(rest) || rest[i+1] == ' ' || rest[i+1] == '\t' || rest[i+1] == '\r') {
					return strings.TrimSpace(rest[:i]), true
				}
			}
			return "", false
		}
	}
	return "", false
}

// webAddressIn reports a web address in v other than the sender's: a
// link (a scheme, www. or a path) or, unless linksOnly, a bare domain.
// Its ending must be a real top-level domain ("john.smith" is a name;
// "ok.me/x" and "www.x.blogspot.ch" are addresses), and an e-mail
// address is not one (a username often is one).
func webAddressIn(v, sender string, linksOnly bool) bool {
	for _, m := range webAddress.FindAllStringSubmatchIndex(v, 3) {
		if m[0] > 0 && (isWordByte(v[m[0]-1]) || strings.IndexByte("@.-", v[m[0]-1]) >= 0) {
			continue
		}
		scheme, host, slash := m[3] > m[2], strings.ToLower(v[m[4]:m[5]]), m[7] > m[6]
		if _, icann := publicSuffixICANN(host); !icann || sender != "" && sameOrg(host, sender) {
			continue
		}
		if !linksOnly || scheme || slash || strings.HasPrefix(host, "www.") {
			return true
		}
	}
	return false
}

// typeOfExtension is the start of the media type a file of each name
// is, for the kinds a reader opens without a second thought.
var typeOfExtension = map[string]string{
	".pdf": "application/pdf", ".jpg": "image/", ".jpeg": "image/", ".png": "image/", ".gif": "image/",
	".docx": "application/vnd.openxmlformats-officedocument.", ".xlsx": "application/vnd.openxmlformats-officedocument.",
	".doc": "application/msword", ".htm": "text/html", ".html": "text/html", ".txt": "text/plain",
}
