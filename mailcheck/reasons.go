package mailcheck

import "github.com/wardhq/ward/catalog"

// Localize fills in each reason's Text in lang ("ja" or "en").
func (r Report) Localize(lang string) Report {
	out := r
	out.Reasons = make([]Reason, len(r.Reasons))
	for i, x := range r.Reasons {
		args := make([]any, len(x.Args))
		for j, a := range x.Args {
			args[j] = a
		}
		x.Text = catalog.Format(lang, "mailcheck_reason_"+x.Code, args...)
		out.Reasons[i] = x
	}
	return out
}

// Headline is the verdict in lang.
func (v Verdict) Headline(lang string) string {
	return catalog.Text(lang, "mailcheck_verdict_"+string(v))
}
