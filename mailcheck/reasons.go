package mailcheck

import "fmt"

// texts holds each reason in English and Japanese; %[n]s are its Args.
var texts = map[string][2]string{
	"own_signature_verified": {"Sent by %[1]s: its signature verifies with %[1]s's own keys and it matches a message we recorded as sent.",
		"%[1]s が送信したメールです。%[1]s 自身の鍵で署名を確認でき、送信記録と一致しました。"},
	"own_body_matches": {"This text was sent by %[1]s: its reference and contents match a message we recorded as sent.",
		"この本文は %[1]s が送信したものです。参照番号と内容が送信記録と一致しました。"},
	"own_signature_missing": {"It claims to come from %[1]s, but it does not carry %[1]s's valid signature.",
		"%[1]s を名乗っていますが、%[1]s の有効な署名がありません。"},
	"own_not_recorded": {"It claims to come from %[1]s, but it does not match any message %[1]s sent.",
		"%[1]s を名乗っていますが、%[1]s の送信記録と一致しません。"},
	"own_other_recipient": {"It carries a message from %[1]s, but not one sent to this address: someone passed it on.",
		"%[1]s のメールを含みますが、このアドレスに送られたものではありません。第三者が転送しています。"},
	"own_wrong_time": {"It claims to come from %[1]s, but its date does not match when that message was sent.",
		"%[1]s を名乗っていますが、日時が送信記録と一致しません。"},
	"own_headers_added": {"It is a message from %[1]s, but someone changed it on the way: its %[2]s header was added.",
		"%[1]s のメールですが、途中で改変されています(%[2]s ヘッダーが追加されています)。"},
	"own_body_altered": {"This is not what %[1]s sent: the text was changed.",
		"これは %[1]s が送った内容ではありません。本文が改変されています。"},
	"own_body_link_added": {"This link is not in the mail we sent: %[1]s",
		"このリンクは送信したメールにはありません: %[1]s"},
	"own_body_text_added":   {"Added to what we sent: \"%[1]s\"", "送信した内容に追加された文: 「%[1]s」"},
	"own_body_text_removed": {"Taken out of what we sent: \"%[1]s\"", "送信した内容から削除された文: 「%[1]s」"},
	"own_reference_unproven": {"It shows a %[1]s reference, but its contents do not match the message with that reference.",
		"%[1]s の参照番号が書かれていますが、内容がその参照番号のメールと一致しません。"},
	"headers_needed": {"Only the text was given. To check the sender, paste the whole message source (with its headers).",
		"本文だけでは送信元を確認できません。ヘッダーを含むメールのソース全体を貼り付けてください。"},
	"shared_hosting_sender":  {"It is sent from %[1]s, on a shared hosting domain anyone can sign up for.", "誰でも利用できる共用ホスティングのドメイン %[1]s から送られています。"},
	"display_name_unrelated": {"The sender calls itself \"%[1]s\" but writes from the unrelated domain %[2]s.", "差出人は「%[1]s」と名乗っていますが、無関係なドメイン %[2]s から送られています。"},
	"forwarded":              {"It is a forwarded mail; its original sender was %[1]s, whose signs are weighed too.", "転送されたメールです。元の送信元 %[1]s についても確認しました。"},
	"from_malformed":         {"The sender's address %[1]s is malformed.", "送信元アドレス %[1]s の形式が正しくありません。"},
	"lure":                   {"It dangles a prize, free money or goods (\"%[1]s\").", "賞品・お金・商品で誘っています(「%[1]s」)。"},
	"inbox_plea":             {"It asks you to move it out of the spam folder (\"%[1]s\"), overruling your mail filter.", "迷惑メールフォルダから移動するよう求めています(「%[1]s」)。"},
	"attachment_only":        {"It says almost nothing and relies on an attachment.", "本文がほとんどなく、添付ファイルを開かせようとしています。"},
	"from_missing":           {"It has no readable sender address.", "送信元アドレスが読み取れません。"},
	"display_address_mismatch": {"The sender's name shows an address at %[1]s, but the mail really comes from %[2]s.",
		"差出人名に %[1]s と表示されていますが、実際の送信元は %[2]s です。"},
	"display_domain_mismatch": {"The sender's name shows %[1]s, but the mail really comes from %[2]s.",
		"差出人名に %[1]s と表示されていますが、実際の送信元は %[2]s です。"},
	"free_mail_organisation": {"The sender calls itself \"%[1]s\", not a person's name, but writes from a personal mailbox at %[2]s.",
		"差出人は「%[1]s」と名乗っていますが、%[2]s の個人用アドレスから送られています。"},
	"punycode_sender": {"The sender's domain %[1]s is written in punycode, which can hide lookalike letters.",
		"送信元ドメイン %[1]s は punycode 表記で、似た文字を隠している可能性があります。"},
	"reply_to_differs": {"Replies would go to %[1]s, not to the sender %[2]s.", "返信先が送信元 %[2]s ではなく %[1]s になっています。"},
	"return_path_differs": {"The bounce address is at %[1]s, not at the sender %[2]s (common for mailing services).",
		"エラー返送先が送信元 %[2]s ではなく %[1]s です(配信サービスではよくあります)。"},
	"evasion_invisible": {"The sender name or subject hides invisible characters inside words, a trick to slip past filters.",
		"差出人名または件名の単語に見えない文字が挟まれています。フィルターを避ける手口です。"},
	"evasion_styled": {"The sender name or subject uses styled look-alike letters (𝐥𝐢𝐤𝐞 𝐭𝐡𝐢𝐬), a trick to slip past filters.",
		"差出人名または件名に装飾された似た文字が使われています。フィルターを避ける手口です。"},
	"evasion_mixed": {"The sender name or subject mixes alphabets inside a word (Latin with Cyrillic or Greek), a lookalike trick.",
		"差出人名または件名の単語にラテン文字とキリル文字・ギリシャ文字が混ざっています。なりすましの手口です。"},
	"dkim_aligned":   {"Its DKIM signature from %[1]s verifies.", "%[1]s の DKIM 署名を確認できました。"},
	"dkim_unaligned": {"It is signed by %[1]s, not by the sender's domain %[2]s.", "署名者は送信元 %[2]s ではなく %[1]s です。"},
	"dkim_fail": {"Its DKIM signature from %[1]s does not verify: the mail was altered or forged.",
		"%[1]s の DKIM 署名が検証できません。改ざんまたは偽造の可能性があります。"},
	"receiver_dmarc_fail": {"Your mail server %[1]s found that the sender's domain did not authorise this mail (DMARC fail).",
		"受信サーバー %[1]s の判定: 送信元ドメインはこのメールを認めていません(DMARC 失敗)。"},
	"receiver_spf_fail": {"Your mail server %[1]s found it was sent from a server the sender's domain does not allow (SPF fail).",
		"受信サーバー %[1]s の判定: 送信元ドメインが許可していないサーバーから送られています(SPF 失敗)。"},
	"receiver_dkim_fail":          {"Your mail server %[1]s could not verify its signature (DKIM fail).", "受信サーバー %[1]s の判定: 署名を検証できませんでした(DKIM 失敗)。"},
	"lookalike_sender_confusable": {"The sender's domain %[1]s is made to look like %[2]s.", "送信元ドメイン %[1]s は %[2]s に似せて作られています。"},
	"lookalike_sender_contains": {"The sender's domain %[1]s borrows the name of %[2]s but does not belong to it.",
		"送信元ドメイン %[1]s は %[2]s の名前を使っていますが、%[2]s のものではありません。"},
	"lookalike_sender_typo": {"The sender's domain %[1]s is a near-miss spelling of %[2]s.", "送信元ドメイン %[1]s は %[2]s の綴りをわずかに変えたものです。"},
	"brand_impersonation": {"It claims to be from %[1]s but comes from %[2]s, which is not a %[1]s domain.",
		"%[1]s を名乗っていますが、送信元 %[2]s は %[1]s のドメインではありません。"},
	"brand_authenticated":   {"It comes from %[2]s, a %[1]s domain, and that is verified.", "%[1]s のドメイン %[2]s から送られたことを確認できました。"},
	"brand_unauthenticated": {"It uses %[1]s's domain %[2]s, but its origin could not be verified.", "%[1]s のドメイン %[2]s を使っていますが、送信元を確認できませんでした。"},
	"link_shortener":        {"A link goes through the URL shortener %[1]s, which hides where it leads.", "リンクが短縮 URL(%[1]s)で、行き先が隠されています。"},
	"link_ip_literal":       {"A link points to a bare IP address (%[1]s) instead of a name.", "リンクの行き先がドメイン名ではなく IP アドレス(%[1]s)です。"},
	"link_punycode":         {"A link's domain %[1]s is written in punycode, which can hide lookalike letters.", "リンク先 %[1]s は punycode 表記で、似た文字を隠している可能性があります。"},
	"lookalike_link":        {"A link goes to %[1]s, made to look like %[2]s.", "リンク先 %[1]s は %[2]s に似せたドメインです。"},
	"link_text_mismatch":    {"A link shows %[1]s but really goes to %[2]s.", "リンクの表示は %[1]s ですが、実際の行き先は %[2]s です。"},
	"password_field": {"It contains a form asking for a password or card number: real services never ask for these inside a mail.",
		"メール内にパスワードやカード番号の入力欄があります。正規のサービスがメール内でこれらを求めることはありません。"},
	"form_in_body":           {"It contains a form to fill in.", "メール内に入力フォームがあります。"},
	"script_in_body":         {"It contains scripts.", "スクリプトが含まれています。"},
	"data_uri":               {"It embeds a page or script in a link (data: URI).", "リンクにページやスクリプトが埋め込まれています(data: URI)。"},
	"risky_attachment":       {"It carries a risky attachment: %[1]s.", "危険な添付ファイルがあります: %[1]s"},
	"asks_credentials":       {"It asks for sign-in details, payment or identity information (\"%[1]s\").", "パスワード・支払い・本人確認の情報を求めています(「%[1]s」)。"},
	"urgency":                {"It pressures you to act quickly (\"%[1]s\").", "急いで行動するよう迫っています(「%[1]s」)。"},
	"urgent_account_subject": {"Its subject pairs your account with a threat or deadline.", "件名でアカウントと脅しや期限を結び付けています。"},
	"links_elsewhere": {"It is about your account, yet none of its links goes to the sender's own domain %[1]s.",
		"アカウントに関する内容なのに、送信元 %[1]s のリンクが一つもありません。"},
}

// verdictTexts are the headline of each verdict.
var verdictTexts = map[Verdict][2]string{
	Genuine:     {"Genuine", "本物です"},
	Phishing:    {"Phishing", "フィッシングです"},
	Suspicious:  {"Suspicious", "不審です"},
	NoProblem:   {"No sign of a problem", "問題は見つかりませんでした"},
	NeedHeaders: {"Cannot tell from the text alone", "本文だけでは判断できません"},
}

func pick(t [2]string, lang string) string {
	if lang == "ja" {
		return t[1]
	}
	return t[0]
}

// Localize fills in each reason's Text in lang ("ja" or "en").
func (r Report) Localize(lang string) Report {
	out := r
	out.Reasons = make([]Reason, len(r.Reasons))
	for i, x := range r.Reasons {
		args := make([]any, len(x.Args))
		for j, a := range x.Args {
			args[j] = a
		}
		x.Text = fmt.Sprintf(pick(texts[x.Code], lang), args...)
		out.Reasons[i] = x
	}
	return out
}

// Headline is the verdict in lang.
func (v Verdict) Headline(lang string) string { return pick(verdictTexts[v], lang) }
