package web

import (
	"net/http"

	"golang.org/x/text/language"

	"github.com/wardhq/ward/account"
)

// messages holds every string the pages show, in each language ward speaks.
var messages = map[string][2]string{ // [en, ja]
	"title":                    {"Account security", "アカウント セキュリティ"},
	"sign_in":                  {"Sign in", "サインイン"},
	"email":                    {"Email address", "メール アドレス"},
	"password":                 {"Password", "パスワード"},
	"password_optional":        {"Password (leave empty to get a code by mail)", "パスワード（空欄の場合はメールでコードを受け取ります）"},
	"send_code":                {"Send me a code", "コードを送信"},
	"sign_in_password":         {"Sign in with password", "パスワードでサインイン"},
	"forgot":                   {"Forgot your password?", "パスワードをお忘れですか?"},
	"enter_code":               {"Enter your security code", "セキュリティ コードを入力"},
	"code_sent_to":             {"We sent a code to", "コードの送信先:"},
	"code_expires":             {"The code works until", "コードの有効期限:"},
	"code":                     {"Security code", "セキュリティ コード"},
	"verify":                   {"Continue", "続行"},
	"resend":                   {"Send a new code", "新しいコードを送信"},
	"resend_after":             {"You can ask for a new code after", "新しいコードを要求できる時刻:"},
	"step_up_why":              {"We ask for a code because this sign-in is from", "このサインインは次の理由で確認が必要です:"},
	"reason_new_device":        {"a device we have not seen on this account", "このアカウントで初めてのデバイス"},
	"reason_new_country":       {"a country never seen for this account: %s", "このアカウントで初めての国: %s"},
	"reason_new_network":       {"a network never seen for this account (%s)", "このアカウントで初めてのネットワーク (%s)"},
	"reason_impossible_travel": {"impossible travel: %s → %s in %s min", "移動が不可能な速さ: %s → %s を %s 分"},
	"reason_anonymizer":        {"an anonymising or hosting network (%s)", "匿名化・ホスティング ネットワーク (%s)"},
	"reason_ip_many_accounts":  {"this network tried %s accounts in 10 minutes", "このネットワークから 10 分間に %s 件のアカウントが試されました"},
	"reason_ip_failures":       {"%s failed sign-ins from this network in 10 minutes", "このネットワークから 10 分間に %s 回サインインに失敗"},
	"reason_account_failures":  {"%s wrong passwords or codes on this account in 10 minutes", "このアカウントで 10 分間に %s 回パスワードまたはコードが誤り"},
	"not_me":                   {"Didn't ask for a code?", "コードを要求していませんか?"},
	"not_me_explain":           {"Someone asked for a security code for your address. Nobody can sign in without the code. If this wasn't you, we will stop codes asked for from there.", "誰かがあなたのアドレス宛てのセキュリティ コードを要求しました。コードがなければ誰もサインインできません。心当たりがない場合は、その場所からのコード送信を止めます。"},
	"not_me_asked":             {"Asked for", "要求"},
	"not_me_from":              {"From", "要求元"},
	"not_me_confirm":           {"This wasn't me: stop these codes", "身に覚えがない: コードの送信を止める"},
	"not_me_done":              {"Done. Codes asked for from there will not reach you until", "完了しました。次の時刻まで、その場所からのコードは届きません:"},
	"reason_new_ip":            {"a network we have not seen on this account", "このアカウントで初めてのネットワーク"},
	"reset":                    {"Reset your password", "パスワードのリセット"},
	"reset_intro":              {"Enter your account's email. If it has an account, we send a code to it.", "アカウントのメール アドレスを入力してください。アカウントがある場合、コードを送信します。"},
	"other_contact":            {"Can't use that address? Type another email or phone you added for recovery:", "そのアドレスを使えない場合は、回復用に登録した別のメール アドレスか電話番号を入力してください:"},
	"contact":                  {"Email or phone (with country code)", "メール アドレスまたは電話番号（国番号付き）"},
	"send_there":               {"Send the code there", "そこにコードを送信"},
	"new_password":             {"New password", "新しいパスワード"},
	"new_password_help":        {"At least 8 characters. A few unrelated words make a strong password.", "8 文字以上。関係のない単語をいくつか組み合わせると強力なパスワードになります。"},
	"set_password":             {"Set password", "パスワードを設定"},
	"reset_done":               {"Your password was changed and every device was signed out. Sign in with the new password.", "パスワードを変更し、すべてのデバイスからサインアウトしました。新しいパスワードでサインインしてください。"},
	"account":                  {"Your account", "あなたのアカウント"},
	"signed_in_as":             {"Signed in as", "サインイン中:"},
	"sign_out":                 {"Sign out", "サインアウト"},
	"recent_activity":          {"Recent activity", "最近のアクティビティ"},
	"when":                     {"When", "日時"},
	"what":                     {"What", "内容"},
	"result":                   {"Result", "結果"},
	"ip":                       {"IP address", "IP アドレス"},
	"device":                   {"Device", "デバイス"},
	"sessions":                 {"Signed-in devices", "サインイン中のデバイス"},
	"last_seen":                {"Last used", "最終使用"},
	"this_device":              {"This device", "このデバイス"},
	"end_session":              {"Sign out", "サインアウト"},
	"end_others":               {"Sign out all other devices", "ほかのすべてのデバイスからサインアウト"},
	"change_password":          {"Change password", "パスワードの変更"},
	"current_password":         {"Current password", "現在のパスワード"},
	"password_changed":         {"Your password was changed. Other devices were signed out.", "パスワードを変更しました。ほかのデバイスからサインアウトしました。"},
	"not_mine":                 {"Not your account?", "心当たりのないアカウントですか?"},
	"not_mine_explain":         {"If you do not own this account, remove your address from it. The password reset that sent you this link is cancelled too.", "このアカウントの所有者でない場合は、あなたのアドレスを削除できます。このリンクを送ったパスワード リセットも取り消されます。"},
	"not_mine_primary":         {"This address is the account's sign-in name, so it cannot be removed here; confirming cancels the reset and reports it to the service.", "このアドレスはアカウントのサインイン名のため削除できません。確定するとリセットを取り消し、報告します。"},
	"not_mine_confirm":         {"Remove my address", "アドレスを削除"},
	"not_mine_report":          {"Cancel and report", "取り消して報告"},
	"not_mine_done":            {"Done. Your address will not receive codes for this account.", "完了しました。このアカウントのコードはあなたのアドレスに届かなくなります。"},
	"not_mine_reported":        {"Done. The reset was cancelled and reported.", "完了しました。リセットを取り消し、報告しました。"},
	"dev_mailbox":              {"Dev mailbox", "開発用メールボックス"},
	"dev_mailbox_explain":      {"No mail relay is configured, so messages stay here.", "メール リレーが設定されていないため、メッセージはここに保存されます。"},
	"status":                   {"Status", "状態"},
	"language":                 {"日本語", "English"},
	"err_invalid_input":        {"Check what you entered.", "入力内容を確認してください。"},
	"err_wrong_code":           {"That code is not right.", "コードが正しくありません。"},
	"err_attempts_left":        {"Tries left:", "残りの試行回数:"},
	"err_code_expired":         {"This code has expired. Ask for a new code.", "コードの有効期限が切れました。新しいコードを要求してください。"},
	"err_too_many_attempts":    {"Too many wrong tries for this code. Ask for a new code.", "このコードの誤入力が多すぎます。新しいコードを要求してください。"},
	"err_factor_locked":        {"Too many wrong tries. You can try again at", "誤入力が多すぎます。次の時刻以降にもう一度お試しください:"},
	"err_factor_disabled":      {"After too many wrong tries this sign-in method is turned off. Sign in another way, or reset your password, to turn it back on.", "誤入力が多すぎたため、このサインイン方法は無効になりました。別の方法でサインインするか、パスワードをリセットすると再び有効になります。"},
	"err_rate_limited":         {"Too many codes were asked for. You can try again at", "コードの要求が多すぎます。次の時刻以降にもう一度お試しください:"},
	"err_wrong_credentials":    {"That email and password do not match.", "メール アドレスとパスワードが一致しません。"},
	"err_account_disabled":     {"This account is disabled.", "このアカウントは無効です。"},
	"err_blocked":              {"This sign-in was blocked to protect the account.", "アカウント保護のため、このサインインはブロックされました。"},
	"err_flow_invalid":         {"This step has ended. Start again.", "この手順は終了しました。最初からやり直してください。"},
	"err_flow_expired":         {"This took too long and has expired. Start again.", "時間切れになりました。最初からやり直してください。"},
	"err_link_invalid":         {"This link was already used or has expired.", "このリンクは使用済みか、有効期限が切れています。"},
	"check_mail":               {"Check a mail", "メールを確認"},
	"check_mail_intro":         {"Got a mail about a code, a password or your account and not sure it is real? Paste its whole source (in most mail apps: Show original / View source) or upload the .eml file. We tell you whether we sent it, and why.", "コードやパスワード、アカウントに関するメールが本物か分からないときは、メールのソース全体(多くのメールアプリで「メッセージのソースを表示」)を貼り付けるか、.eml ファイルをアップロードしてください。当サービスが送ったものかどうかと、その理由をお知らせします。"},
	"check_mail_paste":         {"Message source (or just its text)", "メールのソース(本文だけでも可)"},
	"check_mail_file":          {"Or upload a .eml file", "または .eml ファイルをアップロード"},
	"check_mail_submit":        {"Check", "確認する"},
	"check_mail_reasons":       {"Why", "理由"},
	"check_mail_empty":         {"Paste the message source or choose a file.", "メールのソースを貼り付けるか、ファイルを選んでください。"},
	"check_mail_too_large":     {"Messages up to 10 MB can be checked.", "確認できるのは 10 MB までのメールです。"},
	"check_mail_never":         {"We never ask for your password, card number or codes by mail or phone.", "当サービスがメールや電話でパスワード、カード番号、コードを尋ねることはありません。"},
	"purpose_sign_in":          {"signing in", "サインイン"},
	"purpose_step_up":          {"confirming a sign-in", "サインインの確認"},
	"purpose_password_reset":   {"a password reset", "パスワードの再設定"},
	"purpose_verify_contact":   {"confirming an address", "連絡先の確認"},
	"purpose_confirm_change":   {"confirming a change to your security info", "セキュリティ情報の変更の確認"},
	"purpose_password_changed": {"telling you your password changed", "パスワード変更のお知らせ"},
	"purpose_other":            {"a security notice", "セキュリティのお知らせ"},
	"err_internal":             {"Something went wrong on our side. Try again.", "問題が発生しました。もう一度お試しください。"},
	"kind_sign_in":             {"Sign-in", "サインイン"},
	"kind_code_sent":           {"Code sent", "コード送信"},
	"kind_code_failed":         {"Wrong code", "コード誤り"},
	"kind_password_changed":    {"Password changed", "パスワード変更"},
	"kind_password_reset":      {"Password reset", "パスワード リセット"},
	"kind_session_ended":       {"Signed out", "サインアウト"},
	"kind_factor_disabled":     {"Sign-in method turned off", "サインイン方法の無効化"},
	"kind_factor_enabled":      {"Sign-in method turned on", "サインイン方法の有効化"},
	"kind_contact_removed":     {"Contact removed", "連絡先の削除"},
	"kind_not_mine_reported":   {"Reported as not theirs", "心当たりなしの報告"},
	"result_success":           {"Success", "成功"},
	"result_wrong_password":    {"Wrong password", "パスワード誤り"},
	"result_wrong_code":        {"Wrong code", "コード誤り"},
	"result_blocked":           {"Blocked", "ブロック"},
	"result_sent":              {"Sent", "送信済み"},
	"result_step_up_required":  {"Code required", "コードが必要"},
	"result_locked":            {"Locked", "ロック"},
}

var supported = []language.Tag{language.English, language.Japanese}
var matcher = language.NewMatcher(supported)

// tr returns the text of key in lang ("en" or "ja").
func tr(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "ja" {
		return m[1]
	}
	return m[0]
}

// language picks the page language: an explicit choice, then the
// language cookie, then Accept-Language.
func (s *Server) language(r *http.Request, explicit string) string {
	for _, l := range []string{explicit, r.URL.Query().Get("lang"), s.cookie(r, "ward_lang")} {
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
