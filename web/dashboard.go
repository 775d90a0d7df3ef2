package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // viewers' time zones, whatever the host has installed

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/store"
)

// activityPage is how many rows one page of recent activity shows.
const activityPage = 50

// activityRow is one line of recent activity as the dashboard shows it.
type activityRow struct {
	store.Event
	Place   string
	Unusual bool
	SignIn  bool
	// The row's words, made once in Go: a template call per cell costs
	// more than the database read of the whole page.
	When, What, Method, Outcome, Why string
	// Undo is the form that reverses a security change, when one can.
	UndoAction, UndoLabel string
	// Tone colours the result's badge (ok, bad, blocked, held, neutral),
	// ToneIcon and DeviceIcon name its icons.
	Tone, ToneIcon, DeviceIcon string
}

// tone is how a result looks: good, a failure, a block, held back, or
// plain information.
func tone(result string) (tone, icon string) {
	switch result {
	case activity.Success, activity.Sent:
		return "ok", "check"
	case activity.WrongPassword, activity.WrongCode, activity.Locked, activity.AccountDisabled:
		return "bad", "x"
	case activity.Blocked:
		return "blocked", "block"
	case activity.Suppressed, activity.Held, activity.StepUpRequired, activity.SecondStepRequired:
		return "held", "clock"
	}
	return "neutral", "info"
}

// deviceIcon tells phones and tablets from computers by the device's name.
func deviceIcon(label string) string {
	for _, m := range []string{"iPhone", "iPad", "Android", "Mobile", "iOS"} {
		if strings.Contains(label, m) {
			return "phone"
		}
	}
	return "desktop"
}

func (s *Server) row(e store.Event, lang string, loc *time.Location) activityRow {
	r := activityRow{Event: e, Place: s.place(e.IP, lang), SignIn: e.Kind == activity.SignIn, When: viewerTime(lang, loc, e.At),
		What: tr(lang, "kind_"+e.Kind), Outcome: tr(lang, "result_"+e.Result), DeviceIcon: deviceIcon(e.Device)}
	r.Tone, r.ToneIcon = tone(e.Result)
	if e.Method != "" {
		r.Method = strengthWords(lang, e.Method)
	}
	switch {
	case r.SignIn:
		why := make([]string, len(e.Reasons))
		for i, x := range e.Reasons {
			why[i] = reasonText(lang, x)
		}
		r.Why = strings.Join(why, ", ")
	case e.Kind == activity.AppSignIn:
		r.Why = strings.Join(e.Reasons, ", ") // the app's name
	}
	return r
}

// deviceRow is one signed-in session with what is known of its device.
type deviceRow struct {
	sessionJSON
	Place     string
	FirstSeen time.Time
	Icon      string
}

// dashboard is what the account page shows besides the common view.
type dashboard struct {
	Rows       []activityRow
	Filter     string
	Filters    []string
	NextBefore string
	Devices    []deviceRow
	Changes    []activityRow
	Flagged    string
	Secured    *flow.Secured
	Contacts   []contactRow
	Notices    []noticeRow
	// Apps hold access to the account (OpenID Connect), when ward is a
	// provider (ShowApps).
	Apps     []appJSON
	ShowApps bool
	// Attention is what the person should look at first.
	Attention []attention
	// HasPhone: a verified phone can get SMS notices.
	HasPhone bool
}

// attention is one thing on the overview that needs the person: what
// happened, and where to deal with it.
type attention struct {
	Text, Link, LinkText string
}

// attentionWindow is how far back the overview looks for what happened.
const attentionWindow = 30 * 24 * time.Hour

// noticeRow is one event with its settings per channel.
type noticeRow struct {
	Event    string
	Channels []flow.Notification // email, SMS
}

// contactRow is a contact and whether it still waits to recover the account.
type contactRow struct {
	store.Contact
	Waiting      bool
	RecoveryFrom time.Time
	Icon         string
}

var activityFilters = []string{activity.Success, activity.WrongPassword, activity.WrongCode, activity.Blocked, activity.Sent,
	activity.StepUpRequired, activity.Suppressed, activity.Held}

// unusual marks what deserves a second look: failures, blocks, held or
// reported codes, and sign-ins the risk engine found something new in.
func unusual(e store.Event) bool {
	switch e.Result {
	case activity.WrongPassword, activity.WrongCode, activity.Blocked, activity.Suppressed, activity.Held, activity.StepUpRequired:
		return true
	}
	switch e.Kind {
	case activity.UnsolicitedReported, activity.NotMineReported, activity.FactorDisabled:
		return true
	}
	for _, code := range []string{risk.NewCountry, risk.NewNetwork, risk.ImpossibleTravel, risk.Anonymizer, risk.IPManyAccounts} {
		if risk.Has(e.Reasons, code) {
			return true
		}
	}
	return false
}

// zone is the viewer's time zone: the one their browser reported (a small
// script sets the ward_tz cookie, URL-encoded as cookie values must be),
// else Japan for Japanese pages, else UTC.
func (s *Server) zone(r *http.Request, lang string) *time.Location {
	if raw := s.cookie(r, "ward_tz"); raw != "" && len(raw) < 96 {
		if name, err := url.QueryUnescape(raw); err == nil {
			if loc, err := time.LoadLocation(name); err == nil {
				return loc
			}
		}
	}
	if lang == "ja" {
		loc, _ := time.LoadLocation("Asia/Tokyo")
		return loc
	}
	return time.UTC
}

// viewerTime formats t in the viewer's zone and language.
func viewerTime(lang string, loc *time.Location, t time.Time) string {
	return catalog.Time(lang, loc, t)
}

func (s *Server) place(ip, lang string) string {
	if s.Places == nil || ip == "" {
		return ""
	}
	return s.Places.Describe(ip, lang)
}

// fillAccount loads the dashboard: one page of activity (filtered, from
// a cursor), the signed-in devices, and who the account is. Any read that
// fails fails the page.
func (s *Server) fillAccount(r *http.Request, v *view, sess store.Session) error {
	ctx := r.Context()
	var err error
	if v.Account, err = s.Flow.Account(ctx, sess); err != nil {
		return err
	}
	d := &dashboard{Filters: activityFilters}
	v.Dash = d
	q := r.URL.Query()
	var before time.Time
	if b := q.Get("before"); b != "" {
		if t, err := time.Parse(time.RFC3339Nano, b); err == nil {
			before = t
		}
	}
	if f := q.Get("result"); slices.Contains(activityFilters, f) {
		d.Filter = f
	}
	evs, err := s.Flow.Activity(ctx, sess, d.Filter, before, activityPage)
	if err != nil {
		return err
	}
	confirmed := map[string]bool{}
	for _, e := range evs {
		if e.Kind == activity.Confirmed {
			confirmed[e.Ref] = true
		}
	}
	for _, e := range evs {
		if e.Kind == activity.Confirmed {
			continue
		}
		row := s.row(e, v.Lang, v.Loc)
		row.Unusual = unusual(e) && !confirmed[e.ID]
		d.Rows = append(d.Rows, row)
	}
	if len(evs) == activityPage {
		d.NextBefore = evs[len(evs)-1].At.Format(time.RFC3339Nano)
	}
	ns, err := s.Flow.Notifications(ctx, sess)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(ns); i += 2 {
		d.Notices = append(d.Notices, noticeRow{Event: ns[i].Event, Channels: ns[i : i+2]})
	}
	contacts, err := s.Flow.Contacts(ctx, sess)
	if err != nil {
		return err
	}
	for _, ct := range contacts {
		row := contactRow{Contact: ct, Icon: "mail"}
		if ct.Kind == store.ContactPhone {
			row.Icon = "phone"
			d.HasPhone = d.HasPhone || ct.VerifiedAt != nil
		}
		if ct.RecoveryAfter != nil && s.Now().Before(*ct.RecoveryAfter) {
			row.Waiting, row.RecoveryFrom = true, *ct.RecoveryAfter
		}
		d.Contacts = append(d.Contacts, row)
		switch {
		case ct.VerifiedAt == nil:
			d.Attention = append(d.Attention, attention{Text: catalog.Format(v.Lang, "attention_unverified", ct.Value), Link: "/account#security", LinkText: tr(v.Lang, "attention_check")})
		case row.Waiting:
			d.Attention = append(d.Attention, attention{Text: catalog.Format(v.Lang, "attention_new_contact", ct.Value, viewerTime(v.Lang, v.Loc, row.RecoveryFrom)), Link: "/account/secure", LinkText: tr(v.Lang, "attention_not_you")})
		}
	}
	if err := s.recentAttention(r, v, sess, d.Filter == "" && before.IsZero(), evs); err != nil {
		return err
	}
	sec, err := s.security(r, sess)
	if err != nil {
		return err
	}
	v.Security = &sec
	if s.OpenID != nil {
		if d.Apps, err = s.apps(r, sess); err != nil {
			return err
		}
		d.ShowApps = true
	}
	devices, err := s.Flow.Devices(ctx, sess)
	if err != nil {
		return err
	}
	firstSeen := map[string]time.Time{}
	for _, dv := range devices {
		firstSeen[dv.ID] = dv.FirstSeen
	}
	list, err := s.Flow.LiveSessions(ctx, sess)
	if err != nil {
		return err
	}
	for _, x := range list {
		row := deviceRow{sessionJSON: toSessionJSON(x, sess.ID), Place: s.place(x.IP, v.Lang), FirstSeen: firstSeen[x.DeviceID]}
		row.Icon = deviceIcon(row.Device)
		if row.FirstSeen.IsZero() {
			row.FirstSeen = x.CreatedAt
		}
		d.Devices = append(d.Devices, row)
	}
	return nil
}

// recentAttention adds to the overview what happened lately that the
// person should know of: a sign-in method turned off after wrong tries,
// and codes someone reported as unasked for. The page's own activity
// read serves when it is the newest page, unfiltered.
func (s *Server) recentAttention(r *http.Request, v *view, sess store.Session, newest bool, evs []store.Event) error {
	if !newest {
		var err error
		if evs, err = s.Flow.Activity(r.Context(), sess, "", time.Time{}, activityPage); err != nil {
			return err
		}
	}
	since := s.Now().Add(-attentionWindow)
	seen := map[string]bool{}
	for _, e := range evs {
		if e.At.Before(since) || seen[e.Kind] {
			continue
		}
		switch e.Kind {
		case activity.FactorDisabled:
			v.Dash.Attention = append(v.Dash.Attention, attention{Text: catalog.Format(v.Lang, "attention_factor_off", viewerTime(v.Lang, v.Loc, e.At)), Link: "/account/secure", LinkText: tr(v.Lang, "secure_my_account")})
		case activity.UnsolicitedReported:
			v.Dash.Attention = append(v.Dash.Attention, attention{Text: catalog.Format(v.Lang, "attention_unsolicited", viewerTime(v.Lang, v.Loc, e.At)), Link: "#activity", LinkText: tr(v.Lang, "attention_see_activity")})
		default:
			continue
		}
		seen[e.Kind] = true
	}
	return nil
}

// accountError shows the dashboard again with what went wrong.
func (s *Server) accountError(w http.ResponseWriter, r *http.Request, sess store.Session, err error) {
	v := s.view(r, "account")
	status := s.explain(r, v, err)
	if err := s.fillAccount(r, v, sess); err != nil {
		s.afterAction(w, r, err)
		return
	}
	s.render(w, r, status, "account", v)
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request, sess store.Session) {
	// Every way of signing in (a code, a second step, a passkey, a
	// step-up) ends here; one begun for an app goes back to it.
	if s.backToApp(w, r) {
		return
	}
	v := s.view(r, "account")
	switch r.URL.Query().Get("changed") {
	case "1":
		v.Notice = tr(v.Lang, "password_changed")
	case "contact":
		v.Notice = tr(v.Lang, "contacts_changed")
	case "notifications":
		v.Notice = tr(v.Lang, "notifications_saved")
	case "method":
		v.Notice = tr(v.Lang, "methods_changed")
	case "confirmed":
		v.Notice = tr(v.Lang, "stepped_up")
	case "recovery":
		v.Notice = tr(v.Lang, "recovery_signed_in")
	case "app":
		v.Notice = tr(v.Lang, "apps_revoked")
	}
	if err := s.fillAccount(r, v, sess); err != nil {
		s.afterAction(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account", v)
}

func (s *Server) routeDashboard(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/activity/{id}/mine", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if err := s.Flow.ConfirmActivity(r.Context(), s.client(r), sess, r.PathValue("id")); err != nil {
			s.afterAction(w, r, err)
			return
		}
		http.Redirect(w, r, "/account#activity", http.StatusSeeOther)
	}))
	mux.HandleFunc("POST /account/notifications", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if err := r.ParseForm(); err != nil {
			s.afterAction(w, r, err)
			return
		}
		// Every box is on the form: a box left unticked is "off".
		on := map[string]bool{}
		for _, key := range r.PostForm["shown"] {
			on[key] = slices.Contains(r.PostForm["on"], key)
		}
		if err := s.Flow.SetNotifications(r.Context(), s.client(r), sess, on); err != nil {
			s.afterAction(w, r, err)
			return
		}
		http.Redirect(w, r, "/account?changed=notifications#notifications", http.StatusSeeOther)
	}))
	mux.HandleFunc("POST /account/alias/off", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if _, err := s.Flow.SetAliasOnly(r.Context(), s.client(r), sess, false); err != nil {
			s.afterAction(w, r, err)
			return
		}
		http.Redirect(w, r, "/account/secure", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /account/secure", s.pageSignedIn(s.pageSecure))
	mux.HandleFunc("POST /account/secure", s.pageSignedIn(s.pageSecure))
}

// pageSecure is "Secure my account": what changed lately, and one step
// that signs out every other device and sets a new password.
func (s *Server) pageSecure(w http.ResponseWriter, r *http.Request, sess store.Session) {
	v := s.view(r, "secure")
	var err error
	if v.Account, err = s.Flow.Account(r.Context(), sess); err != nil {
		s.afterAction(w, r, err)
		return
	}
	d := &dashboard{Flagged: r.URL.Query().Get("event")}
	if r.Method == http.MethodPost {
		d.Flagged = r.PostFormValue("event")
	}
	v.Dash = d
	status := http.StatusOK
	if r.Method == http.MethodPost {
		res, err := s.Flow.SecureAccount(r.Context(), s.client(r), sess, r.PostFormValue("current_password"), r.PostFormValue("password"), d.Flagged)
		if err != nil {
			status = s.explain(r, v, err)
		} else {
			d.Secured = &res
			v.Notice = tr(v.Lang, "secure_done")
		}
	}
	changes, err := s.Flow.SecurityChanges(r.Context(), sess, s.Now().Add(-30*24*time.Hour))
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	contacts, err := s.Flow.Contacts(r.Context(), sess)
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	sec, err := s.security(r, sess)
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	for _, e := range changes {
		row := s.row(e, v.Lang, v.Loc)
		switch {
		case e.Kind == activity.ContactAdded:
			if slices.ContainsFunc(contacts, func(c store.Contact) bool { return c.ID == e.Ref }) {
				row.UndoAction, row.UndoLabel = "/account/contacts/"+e.Ref+"/remove", tr(v.Lang, "undo_contact_added")
			}
		case e.Kind == activity.AliasChanged && slices.Contains(e.Reasons, flow.AliasOnlyOn) && v.Account.AliasOnly:
			row.UndoAction, row.UndoLabel = "/account/alias/off", tr(v.Lang, "undo_alias_only")
		case e.Kind == activity.FactorAdded && sec.has(e.Method, e.Ref):
			// A sign-in method someone else added is taken off again.
			row.UndoAction, row.UndoLabel = methodPath(e.Method, e.Ref)+"/remove", tr(v.Lang, "undo_method_added")
		}
		d.Changes = append(d.Changes, row)
	}
	s.render(w, r, status, "secure", v)
}
